from django.apps import AppConfig


class BrandsConfig(AppConfig):
    name = "prefcontent.brands"
    label = "brands"
