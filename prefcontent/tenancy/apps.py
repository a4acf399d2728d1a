from django.apps import AppConfig


class TenancyConfig(AppConfig):
    name = "prefcontent.tenancy"
    label = "tenancy"
    verbose_name = "Tenancy: who is acting and what they may touch"
