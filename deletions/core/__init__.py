"""Helpers every layer uses: domain errors, encryption and encrypted fields, bounded JSON, CSV
safety, the client's address, the outbound URL policy, e-mail sending, calendar arithmetic and
request size limits.

May import Django and third-party packages, and nothing else of the portal: the models sit
above this package (they use its encryption and fields), so nothing here knows a model.
"""
