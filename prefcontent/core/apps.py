from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "prefcontent.core"
    label = "core"
