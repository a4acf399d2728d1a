from django.apps import AppConfig


class TrainingConfig(AppConfig):
    name = "prefcontent.training"
    label = "training"
