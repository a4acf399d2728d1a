from django.apps import AppConfig


class ExperimentsConfig(AppConfig):
    name = "prefcontent.experiments"
    label = "experiments"
