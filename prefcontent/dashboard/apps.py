from django.apps import AppConfig


class DashboardConfig(AppConfig):
    name = "prefcontent.dashboard"
    label = "dashboard"
