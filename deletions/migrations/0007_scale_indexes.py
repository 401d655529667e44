"""Indexes found missing by bench/scale.py at a million items (issue 10).

Database-only (no model state): two of them sort "DESC NULLS LAST", as the customer's runs table
does, which Django's Meta.indexes cannot express portably. On SQLite, NULLs sort last in a DESC
index anyway, so the plain DESC form serves the same queries there.

- parserun_cust_recent: the customer's runs table without a state filter, newest first;
- parserun_cust_state_recent: the same with a state filter (the Meta index sorts NULLS FIRST);
- item_request_id: a request's items in id order (request pages, items pages, receipts);
- item_pending_ws: pending items per workspace (workspaces page, engine health);
- item_confirmed: deletions per day (console dashboard).
"""

from __future__ import annotations

from typing import Any

from django.db import migrations

INDEXES = [
    (
        "parserun_cust_recent",
        "deletions_parserun",
        "(customer_id, extend_created_at DESC{nulls}, id DESC)",
        "",
    ),
    (
        "parserun_cust_state_recent",
        "deletions_parserun",
        "(customer_id, state, extend_created_at DESC{nulls}, id DESC)",
        "",
    ),
    ("item_request_id", "deletions_deletionitem", "(request_id, id)", ""),
    ("item_pending_ws", "deletions_deletionitem", "(workspace_id)", "WHERE status = 'pending'"),
    (
        "item_confirmed",
        "deletions_deletionitem",
        "(confirmed_at)",
        "WHERE status IN ('deleted', 'already_gone')",
    ),
]


def create(apps: Any, schema_editor: Any) -> None:
    nulls = " NULLS LAST" if schema_editor.connection.vendor == "postgresql" else ""
    for name, table, columns, where in INDEXES:
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON {table} {columns.format(nulls=nulls)} {where}"
        )


def drop(apps: Any, schema_editor: Any) -> None:
    for name, *_ in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("deletions", "0006_api_tokens_and_notifications")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
