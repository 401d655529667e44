"""GDPR erasure: statutory deadlines, extensions and pauses (:mod:`.deadlines`), the public
form's intakes (:mod:`.intake`) and the signed links e-mailed to data subjects (:mod:`.links`),
certificates of erasure (:mod:`.certificates`), and the retention purge (:mod:`.retention`,
the other tables' periods in :mod:`.retention_sweeps`, through the append-only tables' only
exits in :mod:`.append_only`; every table's rule in :mod:`.retention_rules`).

May import everything of the domain below it (``core`` to ``inventory``); nothing of the
engine, reporting, notifications, forms, tasks, pages or API.
"""
