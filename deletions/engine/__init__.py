"""Executing approved deletions at Extend: the engine.

The database is the only record of work; the queue only carries wake-ups. Modules, in the order
a DELETE meets them:

- :mod:`.due`: the one definition of the work that may be sent now (running request, runnable
  workspace, pending and due);
- :mod:`.lease`: one runner per workspace, kept alive by a heartbeat, taken over when it lapses;
- :mod:`.claim`: claiming an item under a lease and a claim token (the fencing token);
- :mod:`.gate`: the last check, under the item's lock and inside the dispatch fence
  (:mod:`deletions.workspaces.fence`), with the outbox record of the DELETE;
- :mod:`.runner`: the threads that claim, gate, take a rate-limit slot and send;
- :mod:`.outcomes`: what each answer means, recorded on the outbox attempt;
- :mod:`.reconciler`: the periodic safety net and the takeover watch;
- :mod:`.config`: the tunables.

The shared rate limiter is :mod:`deletions.workspaces.ratelimit` (it also serves the inventory
sync). Nothing here imports the task layer; :mod:`deletions.tasks.engine` wakes runners.
"""
