from django.apps import AppConfig


class GenerationConfig(AppConfig):
    name = "prefcontent.generation"
    label = "generation"
