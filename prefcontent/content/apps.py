from django.apps import AppConfig


class ContentConfig(AppConfig):
    name = "prefcontent.content"
    label = "content"
