"""Celery tasks of the adapters domain: thin, take ids, call services."""
