"""The PostgreSQL backend the project runs on: Django's, with health checks skipped on a warm connection."""
