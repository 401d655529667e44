"""People and their access: staff roles and customer memberships (:mod:`.roles`), service
accounts, customers and invitations, password resets, and the hourly limits of the forms anyone
may post (:mod:`.throttle`).

May import ``core``, ``models`` and ``audit``; nothing of the packages above.
"""
