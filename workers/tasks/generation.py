"""Celery tasks of the generation domain: thin, take ids, call services."""
