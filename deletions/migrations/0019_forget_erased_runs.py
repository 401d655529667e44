import importlib
from typing import Any

from django.db import migrations, models

# On SQLite, adding a NOT NULL column rebuilds the table, and the attempts' append-only trigger
# (migration 0015) reads deletions_deletionitem: it is dropped around the rebuild and put back
# as it was.
TRIGGER = "deletions_deletionattempt_no_delete"


def _trigger_sql() -> str:
    module = importlib.import_module("deletions.migrations.0015_append_only_everywhere")
    (sql,) = [s for s in module.SQLITE_INSTALL if f"TRIGGER {TRIGGER} " in s]
    return str(sql)


def drop_trigger(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {TRIGGER}")


def create_trigger(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute(_trigger_sql())


class Migration(migrations.Migration):
    dependencies = [
        ("deletions", "0018_certificate_ed25519"),
    ]

    operations = [
        migrations.RunPython(drop_trigger, create_trigger),
        migrations.AddField(
            model_name="deletionitem",
            name="file_name",
            field=models.CharField(blank=True, db_default="", default="", max_length=1024),
        ),
        migrations.RunPython(create_trigger, drop_trigger),
        migrations.AddField(
            model_name="parserun",
            name="subject_ref_hash",
            field=models.CharField(blank=True, db_default="", default="", max_length=64),
        ),
    ]
