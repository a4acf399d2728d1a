from django.apps import AppConfig


class AdaptersConfig(AppConfig):
    name = "prefcontent.adapters"
    label = "adapters"
