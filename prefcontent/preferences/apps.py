from django.apps import AppConfig


class PreferencesConfig(AppConfig):
    name = "prefcontent.preferences"
    label = "preferences"
