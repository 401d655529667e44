"""Celery tasks. Thin: they take ids, call the domain functions and let the database hold the truth.

Split by concern; importing this package registers them all with the Celery app and connects
the receivers of the domain's transition hooks and :mod:`deletions.signals` (``apps.ready``
imports it in every process). Registered names (``deletions.reconcile``...) are fixed by
``name=``: queued messages and the beat schedule use them.

May import the domain; the pages import it to enqueue; the domain never does.
"""

from deletions.tasks import accounts, api, engine, gdpr, gdpr_notices, inventory, policies

__all__ = ["accounts", "api", "engine", "gdpr", "gdpr_notices", "inventory", "policies"]
