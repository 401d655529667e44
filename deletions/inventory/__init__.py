"""The parse-run inventory: the sync from ``GET /parse_runs`` (:mod:`.sync`, its pages fetched
by :mod:`.pages`), the rows it and
the webhooks upsert (:mod:`.runs`), signed webhooks (:mod:`.webhooks`), CSV imports,
assigning runs to customers, and which present runs use each uploaded file (:mod:`.files`).

May import ``core``, ``signals``, ``extend_client``, ``models``, ``audit``, ``accounts``,
``workspaces`` and ``requests``. Syncs and webhook follow-ups are asked for through
``signals``; the task layer runs them.
"""
