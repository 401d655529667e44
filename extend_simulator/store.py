"""The run store: every workspace's runs and files, which are deleted, lookups and listing.

Seeded runs are generated on demand (:mod:`.seeding`); runs added at run time are kept as explicit
records after the seeded ones; a deletion is one integer in a set. Listing is newest first (Extend
does not document an order; newest first is what its dashboard shows).

Files and runs are deleted independently, as EXTEND_API.md requires: deleting a run leaves its
file (Extend does not document that it goes), deleting a file leaves the runs that processed it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .ids import MAX_INDEX
from .runs import SOURCES, STATUSES, FileFilters, Run, RunFilters, StoredFile, WorkspaceData
from .seeding import SeededRuns


class RunStore:
    """All workspaces' runs, deletions and lookups. Not thread-safe: the server holds a lock."""

    def __init__(self, seeded_runs: SeededRuns) -> None:
        self.seeded_runs = seeded_runs
        self.workspaces: list[WorkspaceData] = []
        self.by_id: dict[str, WorkspaceData] = {}
        self.deleted: set[int] = set()
        self.deleted_files: set[int] = set()  # positions, as ``deleted``
        self._added_ids: dict[str, tuple[int, int]] = {}
        self._added_file_ids: dict[str, tuple[int, int]] = {}  # ids given in a run's spec

    def add_workspace(
        self, workspace_id: str, org_id: str, runs: int, customers: tuple[str, ...]
    ) -> None:
        """Register a workspace with ``runs`` seeded runs."""
        if runs > MAX_INDEX:
            raise ValueError("too many runs")
        data = WorkspaceData(len(self.workspaces), workspace_id, org_id, runs, customers)
        self.workspaces.append(data)
        self.by_id[workspace_id] = data

    # -- lookups -----------------------------------------------------------------------------

    def resolve(self, run_id: str) -> tuple[int, int] | None:
        """``(workspace number, index)`` of a run that exists or existed, else None."""
        found = self._added_ids.get(run_id) or self.seeded_runs.run_ids.decode(run_id)
        if found is None:
            return None
        workspace, index = found
        if workspace >= len(self.workspaces):
            return None
        data = self.workspaces[workspace]
        if index >= data.total or self.run_id(workspace, index) != run_id:
            return None
        return found

    def locate(self, run_id: str) -> tuple[int, int] | None:
        """``(workspace number, index)`` of a live (not deleted) run, else None."""
        found = self.resolve(run_id)
        if found is None or self.is_deleted(*found):
            return None
        return found

    def is_deleted(self, workspace: int, index: int) -> bool:
        """Whether run ``index`` of the workspace has been deleted."""
        return (workspace << 32 | index) in self.deleted

    def delete(self, workspace: int, index: int) -> None:
        """Mark a run deleted: it disappears from GET and list for good."""
        self.deleted.add(workspace << 32 | index)

    def run(self, workspace: int, index: int) -> Run:
        """Run ``index`` of workspace number ``workspace`` (deleted or not)."""
        data = self.workspaces[workspace]
        if index >= data.seeded:
            return data.added[index - data.seeded]
        return self.seeded_runs.run(data, index)

    def run_id(self, workspace: int, index: int) -> str:
        """The id of run ``index`` without generating the rest of it."""
        data = self.workspaces[workspace]
        if index >= data.seeded:
            return data.added[index - data.seeded].id
        return self.seeded_runs.run_ids.encode(workspace, index)

    # -- files -------------------------------------------------------------------------------

    def file(self, workspace: int, position: int) -> StoredFile | None:
        """The file uploaded at ``position`` (deleted or not), None when none was."""
        data = self.workspaces[workspace]
        if position < data.seeded:
            return self.seeded_runs.file(data, position)
        file = data.added[position - data.seeded].file
        return file if file is not None and file.position == position else None

    def resolve_file(self, file_id: str) -> tuple[int, int] | None:
        """``(workspace number, position)`` of a file that exists or existed, else None."""
        found = self._added_file_ids.get(file_id) or self.seeded_runs.file_ids.decode(file_id)
        if found is None:
            return None
        workspace, position = found
        if workspace >= len(self.workspaces) or position >= self.workspaces[workspace].total:
            return None
        file = self.file(workspace, position)
        return found if file is not None and file.id == file_id else None

    def locate_file(self, file_id: str) -> tuple[int, int] | None:
        """``(workspace number, position)`` of a live (not deleted) file, else None."""
        found = self.resolve_file(file_id)
        if found is None or self.is_file_deleted(*found):
            return None
        return found

    def is_file_deleted(self, workspace: int, position: int) -> bool:
        """Whether the file at ``position`` has been deleted."""
        return (workspace << 32 | position) in self.deleted_files

    def delete_file(self, workspace: int, position: int) -> None:
        """Mark a file deleted; the runs that processed it stay as they are."""
        self.deleted_files.add(workspace << 32 | position)

    def file_page(
        self, workspace: int, filters: FileFilters, cursor: int | None, size: int
    ) -> tuple[list[StoredFile], int | None]:
        """Up to ``size`` live files from ``cursor`` on, newest first unless ascending.

        ``cursor`` is exclusive from above when descending, inclusive from below when ascending;
        returns the files and the cursor of the next page (None when there is none).
        """
        total = self.workspaces[workspace].total
        if filters.ascending:
            positions = range(cursor or 0, total)
        else:
            positions = range((total if cursor is None else min(cursor, total)) - 1, -1, -1)
        found: list[StoredFile] = []
        for position in positions:
            if self.is_file_deleted(workspace, position):
                continue
            file = self.file(workspace, position)
            if file is None or not file.matches(filters):
                continue
            if len(found) == size:
                last = found[-1].position
                return found, last + 1 if filters.ascending else last
            found.append(file)
        return found, None

    # -- listing -----------------------------------------------------------------------------

    def page(
        self, workspace: int, filters: RunFilters, before: int | None, size: int
    ) -> tuple[list[Run], int | None]:
        """Up to ``size`` live runs matching ``filters`` with index < ``before``, newest first.

        Returns the runs and the ``before`` for the next page (None when there is none).
        """
        found: list[Run] = []
        last_index: int | None = None
        data = self.workspaces[workspace]
        prefilter = not filters.is_empty()
        for index in self._candidates(workspace, filters, before):
            if self.is_deleted(workspace, index):
                continue
            if (
                prefilter
                and index < data.seeded
                and not self.seeded_runs.may_match(data, index, filters)
            ):
                continue
            run = self.run(workspace, index)
            if not run.matches(filters):
                continue
            if len(found) == size:
                # One more match exists: there is a next page, starting below the last shown.
                return found, last_index
            found.append(run)
            last_index = index
        return found, None

    def _candidates(self, workspace: int, filters: RunFilters, before: int | None) -> Iterator[int]:
        """Indices that may match, descending; narrowed by ids that encode their block."""
        data = self.workspaces[workspace]
        top = data.total if before is None else min(before, data.total)
        added = range(top - 1, data.seeded - 1, -1)
        seeded_top = min(top, data.seeded)
        narrowed = self.seeded_runs.index_range(workspace, filters)
        if narrowed is None:
            yield from added
            yield from range(seeded_top - 1, -1, -1)
            return
        yield from added
        start, stop = narrowed
        yield from range(min(stop, seeded_top) - 1, start - 1, -1)

    # -- runs added at run time --------------------------------------------------------------

    def add_run(self, workspace: int, spec: dict[str, Any], now: float) -> Run:
        """Append an explicit run to a workspace; ``spec`` may set any wire-level field.

        ``file_id`` names the run's file: a live file of the workspace is shared (its name, type
        and pages are the file's), a new id uploads a file under that id, ``None`` gives the run
        a null file; without it the run uploads a file of its own.
        """
        data = self.workspaces[workspace]
        index = data.total
        if index > MAX_INDEX:
            raise ValueError("workspace is full")
        run_id = spec.get("id")
        if run_id is None:
            run_id = self.seeded_runs.run_ids.encode(workspace, index)
        elif not isinstance(run_id, str) or not 1 <= len(run_id) <= 255:
            raise ValueError("id must be a string of 1 to 255 characters")
        elif run_id in self._added_ids or self.seeded_runs.run_ids.decode(run_id) is not None:
            raise ValueError(f"run {run_id} already exists")
        status = spec.get("status", "PROCESSED")
        if status not in STATUSES:
            raise ValueError(f"unknown status {status!r}")
        source = spec.get("source", "API")
        if source not in SOURCES:
            raise ValueError(f"unknown source {source!r}")
        metadata = spec.get("metadata")
        customer = spec.get("customer")
        if customer is not None:
            metadata = {**(metadata or {}), self.seeded_runs.customer_key: customer}
        if metadata is not None and not isinstance(metadata, dict):
            raise ValueError("metadata must be an object")
        created = float(spec.get("created_at", now))
        failure_reason = failure_message = None
        if status == "FAILED":
            failure_reason = spec.get("failure_reason", "CORRUPT_FILE")
            failure_message = spec.get("failure_message", "The file appears to be corrupted.")
        file = self._file_of_new_run(workspace, index, spec, created)
        pages = file.page_count if file is not None else int(spec.get("page_count", 1))
        run = Run(
            id=run_id,
            workspace=workspace,
            index=index,
            status=status,
            source=source,
            source_id=spec.get("source_id", spec.get("sourceId")),
            batch_id=spec.get("batch_id", spec.get("batchId")),
            file=file,
            page_count=pages,
            created_at=created,
            updated_at=created,
            metadata=metadata,
            failure_reason=failure_reason,
            failure_message=failure_message,
            processing_time_ms=1200 if status == "PROCESSED" else 0,
        )
        data.added.append(run)
        self._added_ids[run_id] = (workspace, index)
        if file is not None and file.position == index:
            self._added_file_ids[file.id] = (workspace, index)
        return run

    def _file_of_new_run(
        self, workspace: int, index: int, spec: dict[str, Any], created: float
    ) -> StoredFile | None:
        key = "file_id" if "file_id" in spec else "fileId"
        if key in spec and spec[key] is None:
            return None
        file_id = spec.get(key)
        if file_id is None:
            file_id = self.seeded_runs.file_ids.encode(workspace, index)
        elif not isinstance(file_id, str) or not 1 <= len(file_id) <= 255:
            raise ValueError("file_id must be a string of 1 to 255 characters")
        else:
            found = self.resolve_file(file_id)
            if found is not None:
                if found[0] != workspace:
                    raise ValueError(f"file {file_id} belongs to another workspace")
                if self.is_file_deleted(*found):
                    raise ValueError(f"file {file_id} is deleted")
                if {"file_name", "fileName", "file_type", "page_count"} & spec.keys():
                    raise ValueError("an existing file keeps its name, type and page count")
                return self.file(*found)
            if self.seeded_runs.file_ids.decode(file_id) is not None:
                raise ValueError(f"unknown file {file_id}")
        name = str(spec.get("file_name", spec.get("fileName", f"upload_{index}.pdf")))
        return StoredFile(
            id=file_id,
            workspace=workspace,
            position=index,
            name=name,
            type=spec.get("file_type", _guess_type(name)),
            page_count=int(spec.get("page_count", 1)),
            created_at=created,
        )

    def live_count(self, workspace: int) -> int:
        """Runs of a workspace that are not deleted (deleted ones are counted, not scanned)."""
        data = self.workspaces[workspace]
        lo, hi = workspace << 32, (workspace + 1) << 32
        gone = sum(1 for key in self.deleted if lo <= key < hi)
        return data.total - gone

    def deleted_file_count(self, workspace: int) -> int:
        """Files of a workspace that have been deleted."""
        lo, hi = workspace << 32, (workspace + 1) << 32
        return sum(1 for key in self.deleted_files if lo <= key < hi)


def _guess_type(file_name: str) -> str | None:
    extension = file_name.rsplit(".", 1)[-1].lower() if "." in file_name else ""
    return {
        "pdf": "PDF",
        "png": "IMG",
        "jpg": "IMG",
        "jpeg": "IMG",
        "tif": "IMG",
        "tiff": "IMG",
        "docx": "DOCX",
        "doc": "DOCX",
        "xlsx": "EXCEL",
        "xls": "EXCEL",
        "csv": "CSV",
        "txt": "TXT",
        "html": "HTML",
        "xml": "XML",
    }.get(extension)
