"""Extend workspaces and organisations, and everything about talking to Extend from one:
creating and changing workspaces and their secrets (:mod:`.changes`), their health (stopping,
pausing, resuming: :mod:`.health`, with the staff e-mails in :mod:`.alerts`), connection tests,
the client built from a workspace (:mod:`.extend_connection`), the shared rate limiter
(:mod:`.ratelimit`), the dispatch fence (:mod:`.fence`) and encryption-key rotation.

May import ``core``, ``signals``, ``extend_client``, ``models``, ``audit`` and ``accounts``.
"""
