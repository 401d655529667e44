"""The console's unassigned-runs page at a million runs (issue 10, bench/scale.py): present runs
no customer owns, newest first. Without it PostgreSQL walks the primary key backwards through
every assigned run. Database-only, like 0007."""

from __future__ import annotations

from typing import Any

from django.db import migrations

NAME = "parserun_unassigned_recent"


def create(apps: Any, schema_editor: Any) -> None:
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {NAME} ON deletions_parserun (state, id) "
        "WHERE customer_id IS NULL"
    )


def drop(apps: Any, schema_editor: Any) -> None:
    schema_editor.execute(f"DROP INDEX IF EXISTS {NAME}")


class Migration(migrations.Migration):
    dependencies = [("deletions", "0007_scale_indexes")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
