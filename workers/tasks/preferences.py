"""Celery tasks of the preferences domain: thin, take ids, call services."""
