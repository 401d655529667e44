"""Celery tasks. Thin: they take ids, call the domain functions and let the database hold the truth.

Split by concern; importing this package registers them all with the Celery app.
"""

from deletions.tasks import accounts, api, engine, gdpr, inventory

__all__ = ["accounts", "api", "engine", "gdpr", "inventory"]
