"""Retention policies: each customer's standing rule for which parse runs expire, approved once
and evaluated on a schedule into ordinary retention requests (same engine, gate, holds, proof).

``selection`` says which runs a policy selects now; ``rules`` changes policies (propose, change,
approve, reject, pause, resume, the global switch); ``evaluation`` turns a due policy into a
request; ``exemptions`` keeps a run out of every policy. (The monthly summary is reporting:
``deletions.reporting.retention``.)
"""
