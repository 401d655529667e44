"""Deletion requests: submission (freezing a selection into items), every state change
(:mod:`.transitions`, one function each, with its audit record and the transition hooks),
legal holds and which runs they cover, bulk decisions, what a request's items came to
(:mod:`.results`, :mod:`.receipts`) and what a deleted run keeps (:mod:`.tombstones`).

May import ``core``, ``signals``, ``models``, ``audit``, ``accounts`` and ``workspaces`` (the
fence). Work it makes due is announced through the transition hooks and ``signals``.
"""
