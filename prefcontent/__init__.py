"""PrefContent: A/B test outcomes become preference pairs become better copy."""
from prefcontent.celery import app as celery_app

__all__ = ["celery_app"]
