"""Pages, split by audience: customer pages (``customer*``, ``team``), the staff console
(``console*``, ``inventory``, ``certificates``), accounts, the public erasure form, Extend's
webhooks and health checks. Their URL modules are in :mod:`deletions.urls`.

May import the domain, ``forms`` and ``tasks``; nothing of :mod:`deletions.api`.
"""
