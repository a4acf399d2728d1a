"""Celery tasks of the training domain: thin, take ids, call services."""
