"""Celery tasks of the content domain: thin, take ids, call services."""
