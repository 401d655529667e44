"""What the pages and the API show about the work: a request's progress and honest time left
(:mod:`.progress`, with the cooling-off countdown), the console's queue, timelines, counts and
charts (:mod:`.console_queries`), and what a legal hold reaches (:mod:`.holds`).

Read-only. May import the whole domain below it, the engine included (its definition of due
work and its health).
"""
