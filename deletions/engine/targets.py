"""What the engine deletes: a run's item or a file. Both go through the same claim, gate,
outcome and verification code; this says, for each, which call to make and which moves to use.

The two models name their fields alike (status, attempts, claim token, ...), so the engine's
conditional updates read the same for both; what differs is gathered here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from deletions.extend_client import Deleted, ExtendClient
from deletions.models import DeletionAttempt, DeletionItem, FileAttempt, FileErasure
from deletions.requests import files, transitions

# Something the engine sends a DELETE for.
Work = DeletionItem | FileErasure


@dataclass(frozen=True)
class Target:
    noun: str
    model: type[DeletionItem] | type[FileErasure]
    attempts: type[DeletionAttempt] | type[FileAttempt]
    complete: Callable[..., bool]
    reschedule: Callable[..., bool]
    unconfirm: Callable[..., bool]
    unverify: Callable[..., bool]
    resource_id: Callable[[Any], str]
    delete: Callable[[ExtendClient, str], Deleted]
    get: Callable[[ExtendClient, str], dict[str, Any]]


RUNS = Target(
    noun="run",
    model=DeletionItem,
    attempts=DeletionAttempt,
    complete=transitions.complete_item,
    reschedule=transitions.reschedule_item,
    unconfirm=transitions.unconfirm_item,
    unverify=transitions.unverify_item,
    resource_id=lambda item: item.parse_run.run_id,
    delete=ExtendClient.delete_parse_run,
    get=ExtendClient.get_parse_run,
)

FILES = Target(
    noun="file",
    model=FileErasure,
    attempts=FileAttempt,
    complete=files.complete,
    reschedule=transitions.reschedule_item,
    unconfirm=transitions.unconfirm_item,
    unverify=files.unverify,
    resource_id=lambda erasure: erasure.file_id,
    delete=ExtendClient.delete_file,
    get=ExtendClient.get_file,
)


def of(work: Work) -> Target:
    return FILES if isinstance(work, FileErasure) else RUNS
