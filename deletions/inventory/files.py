"""Which runs use each uploaded file: what erasing a file must ask first.

A parse run points at the file uploaded to Extend (``ParseRun.file_id``), and several runs may
share one file (EXTEND_API.md, "Files"). Deleting a file is permanent, so the rule the engine
relies on is:

    A file is **free to delete with a set of runs** iff no PRESENT run outside that set uses it,
    in the same workspace, whoever owns that run (any customer, or none: unassigned).

Precisely:

- A file is one ``(workspace, file_id)``: the portal reaches a file, like a run, through its
  workspace's credentials, so runs of other workspaces are never counted (the same id there is
  treated as another file). A run with no file id (``""``: Extend named none,
  or the portal has not learned it yet) uses no file and is never counted.
- "Uses" means a ``ParseRun`` row with that workspace and file id. Only PRESENT runs outside the
  set count: a deleted run (a tombstone keeps its file id for the proof) or one gone at Extend
  (vanished) needs its file no more. A present run in another open request does count: that
  request may yet be refused, cancelled or held.
- Runs *in* the set never count against it, whatever their state: the caller decides what the
  set is (for a request: the runs it actually deleted, not those a hold kept, since a hold on a
  run holds its file).
- A run the portal does not know (not synced yet) cannot be counted. The answer is as good as
  the inventory, and as of the moment it is read: a caller about to delete a file asks again in
  the transaction that records the deletion, right before it is sent.

Every function here answers in a fixed number of queries (one, or two for :func:`files_of`),
whatever the number of files: the counts are grouped in the database, never looped over file by
file.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from django.db.models import Count, Exists, OuterRef, Q, QuerySet

from deletions.models import ParseRun

# A file: (workspace id, Extend's file id).
FileKey = tuple[int, str]
# Spelled out in every query, so the database may use the partial index ``parserun_ws_file``
# (whose condition it is) even when the file id is a parameter or a column.
_HAS_FILE = ~Q(file_id="")


@dataclass(frozen=True)
class FileUse:
    """One file the runs of a set use, and who else does."""

    workspace_id: int
    file_id: str
    # Runs of the set that use it (any state).
    in_set: int
    # PRESENT runs outside the set that use it (any customer, or none).
    outside: int

    @property
    def key(self) -> FileKey:
        return (self.workspace_id, self.file_id)

    @property
    def free(self) -> bool:
        """Whether the file may be deleted with the set: no present run outside it uses it."""
        return self.outside == 0


def users_of_files(workspace_id: int, file_ids: Iterable[str]) -> dict[str, int]:
    """How many PRESENT runs of the workspace use each of *file_ids* (one query).

    Every non-empty id asked about is in the answer, with 0 when no present run uses it. For
    the files of a set of runs (a request's, thousands of them) use :func:`files_of`, which
    passes no list of ids to the database.
    """
    wanted = {file_id for file_id in file_ids if file_id}
    if not wanted:
        return {}
    counts = dict.fromkeys(wanted, 0)
    counts.update(
        ParseRun.objects.filter(
            _HAS_FILE, workspace_id=workspace_id, file_id__in=wanted, state=ParseRun.State.PRESENT
        )
        .order_by()
        .values("file_id")
        .annotate(runs=Count("pk"))
        .values_list("file_id", "runs")
    )
    return counts


def files_of(runs: QuerySet[ParseRun]) -> dict[FileKey, FileUse]:
    """Every file the runs of *runs* use, with how many of them use it and how many PRESENT runs
    outside *runs* do (two grouped queries; *runs* must not be sliced).

    *runs* is any queryset naming the set, for a request
    ``ParseRun.objects.filter(items__request=request)``. A file with ``outside == 0`` is free to
    delete with the set (see the module's rule).
    """
    in_set = (
        runs.filter(_HAS_FILE)
        .order_by()
        .values("workspace_id", "file_id")
        .annotate(runs=Count("pk", distinct=True))
        .values_list("workspace_id", "file_id", "runs")
    )
    uses = {
        (workspace_id, file_id): FileUse(workspace_id, file_id, count, 0)
        for workspace_id, file_id, count in in_set
    }
    if not uses:
        return uses
    for key, count in _outside(runs).items():
        uses[key] = replace(uses[key], outside=count)
    return uses


def shared_files(runs: QuerySet[ParseRun]) -> dict[FileKey, int]:
    """The files of *runs* that PRESENT runs outside *runs* also use, with how many such runs
    (one grouped query). Files absent from the answer are free to delete with the set; a
    receipt says of the others why they were kept ("still used by 2 runs not in this
    request")."""
    return _outside(runs)


def _outside(runs: QuerySet[ParseRun]) -> dict[FileKey, int]:
    """PRESENT runs outside *runs* per file of *runs*, for the files that have any.

    Driven from the set's files: the database lists the set's distinct files, probes
    ``parserun_ws_file`` for the present runs using each, and only then leaves out the set's
    own runs (inside the count, so that test does not turn the probe into a scan of the
    workspace). The set is named by subqueries, never by a list of ids, and both counts come
    from one statement, so one snapshot.
    """
    set_uses_it = runs.filter(workspace_id=OuterRef("workspace_id"), file_id=OuterRef("file_id"))
    not_in_set = ~Q(pk__in=runs.order_by().values("pk"))
    rows = (
        ParseRun.objects.filter(_HAS_FILE, state=ParseRun.State.PRESENT)
        .filter(Exists(set_uses_it.order_by().values("pk")))
        .order_by()
        .values("workspace_id", "file_id")
        .annotate(runs=Count("pk", filter=not_in_set))
        .values_list("workspace_id", "file_id", "runs")
    )
    return {(workspace_id, file_id): count for workspace_id, file_id, count in rows if count}
