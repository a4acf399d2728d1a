"""Celery tasks of the experiments domain: thin, take ids, call services."""
