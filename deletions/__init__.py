"""The portal's one Django app: deleting parse runs at Extend, safely.

Packages by capability, lowest first; each may import only those before it (the ``layers`` and
``acyclic`` import contracts in ``pyproject.toml`` check this, and each package's docstring says
what it holds):

- ``core``: helpers every layer uses and that know nothing of the models (errors, encryption,
  encrypted fields, bounded JSON, CSV safety, the client's address, the outbound URL policy,
  e-mail sending, calendar arithmetic, request size limits); ``signals``: how the domain asks
  the task layer for work;
- ``extend_client``: the Extend API client (no Django);
- ``models``: every model, one module per area, all importable from ``deletions.models``;
- ``audit`` (a module): recording the append-only audit trail;
- ``accounts``, ``workspaces``, ``requests``, ``inventory``, ``gdpr``, ``engine``,
  ``reporting``, ``notifications``: the domain, in that order;
- ``forms``: the console's and the pages' forms, also the API's rules;
- ``tasks`` (Celery), then ``views`` and ``urls`` (pages), ``api`` (JSON API v1), ``admin``,
  ``management`` (commands): they call the domain; the domain never imports them.

``apps`` wires the task layer's receivers in every process; ``context_processors`` feeds the
templates; ``migrations`` name models and fields by their ``deletions.models`` and
``deletions.core.fields`` paths.
"""
