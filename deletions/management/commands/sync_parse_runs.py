"""Sync the parse-run inventory from Extend: ``manage.py sync_parse_runs [--workspace NAME]``."""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from deletions.inventory import sync
from deletions.models import Workspace, WorkspaceSync


class Command(BaseCommand):
    help = (
        "Sync parse runs from Extend into the inventory (all active workspaces, or one). "
        "An interrupted sync resumes from where it stopped."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--workspace", help="Only this workspace (its name).")
        parser.add_argument(
            "--incremental",
            action="store_true",
            help="Only fetch new runs (stop at the first page of known runs).",
        )
        parser.add_argument(
            "--restart",
            action="store_true",
            help="Start over instead of resuming an unfinished sync.",
        )
        parser.add_argument(
            "--page-size", type=int, default=100, help="Runs per page (1-100; default 100)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["workspace"]:
            workspaces = list(Workspace.objects.filter(name=options["workspace"]))
            if not workspaces:
                raise CommandError(f"No workspace named {options['workspace']!r}.")
        else:
            workspaces = list(sync.syncable_workspaces())
            if not workspaces:
                self.stdout.write("No active workspace with an API key: nothing to sync.")
                return
        mode = WorkspaceSync.Mode.INCREMENTAL if options["incremental"] else WorkspaceSync.Mode.FULL
        failed = False
        for workspace in workspaces:
            failed |= not self._sync_one(workspace, mode, options)
        if failed:
            raise CommandError("At least one sync failed; run the command again to resume it.")

    def _sync_one(self, workspace: Workspace, mode: str, options: dict[str, Any]) -> bool:
        interactive = sys.stdout.isatty()

        def progress(state: WorkspaceSync) -> None:
            line = f"{workspace.name}: {state.pages_done:,} pages, {state.runs_seen:,} runs"
            if interactive:
                self.stdout.write(f"\r{line}", ending="")
                self.stdout.flush()
            elif state.pages_done % 50 == 0:
                self.stdout.write(line)

        try:
            outcome = sync.sync_workspace(
                workspace,
                mode=mode,
                restart=options["restart"],
                page_size=options["page_size"],
                time_budget=None,
                progress=progress,
            )
        except sync.SyncBusy as busy:
            self.stderr.write(str(busy))
            return False
        if interactive:
            self.stdout.write("")
        state = sync.state_for(workspace)
        if outcome.error:
            self.stderr.write(
                f"{workspace.name}: failed after {state.pages_done:,} pages: {outcome.error}"
            )
            return False
        result = state.last_result
        self.stdout.write(
            self.style.SUCCESS(
                f"{workspace.name}: {result.get('runs_seen', 0):,} runs in "
                f"{result.get('pages', 0):,} pages, {result.get('vanished', 0):,} vanished, "
                f"{result.get('unassigned', 0):,} unassigned."
            )
        )
        if state.last_error:
            self.stderr.write(state.last_error)
        return True
