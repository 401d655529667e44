"""GDPR erasure: statutory deadlines, extensions and pauses (:mod:`.deadlines`), the public
form's intakes (:mod:`.intake`) and the signed links e-mailed to data subjects (:mod:`.links`),
certificates of erasure (:mod:`.certificates`), and the retention purge (:mod:`.retention`,
through the append-only tables' only exits in :mod:`.append_only`).

May import everything of the domain below it (``core`` to ``inventory``); nothing of the
engine, reporting, notifications, forms, tasks, pages or API.
"""
