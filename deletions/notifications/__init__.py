"""Telling customers their requests changed: e-mails (:mod:`.customer_emails`, a transition
hook registered when the app is ready) and signed POSTs to their URL (:mod:`.signed_posts`,
whose hook and delivery tasks are in :mod:`deletions.tasks.api`).

May import the whole domain below it (``reporting`` for progress wording); never the task layer.
"""
