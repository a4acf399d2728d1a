from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "prefcontent.accounts"
    label = "accounts"
