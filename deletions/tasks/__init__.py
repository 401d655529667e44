"""Celery tasks. Thin: they take ids, call the domain functions and let the database hold the truth.

Split by concern; importing this package registers them all with the Celery app.
"""

from deletions.tasks import engine, gdpr, inventory

__all__ = ["engine", "gdpr", "inventory"]
