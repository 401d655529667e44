"""The file calls' log (``deletions_fileattempt``) is append-only and purged as the runs' is.

The same rules as ``deletions_deletionattempt`` (migrations 0011 and 0015), on both databases:
the gate may complete its own ``sending`` row once, or remove it when nothing was sent; every
other UPDATE or DELETE is refused, and TRUNCATE as for the attempt table.

PostgreSQL: the table gets the attempt table's trigger function (``portal_attempt_append_only``,
same columns) and TRUNCATE guard; the purge role may read and delete its rows and read
``deletions_fileerasure``; ``deletions_purge_request_attempts(request, cutoff)`` deletes the
request's file attempts too, and refuses, besides its earlier guards, while a file of the
request is still open (waiting, pending, in flight or unconfirmed): that erasure is still owed.
It returns the run and file attempts it removed, together.

SQLite: the attempt table's two triggers, for the file table. The purge lets a request's file
attempts go with one exemption row per file erasure of the request (``file_attempt_purge``, the
erasure's id), inserted and removed inside its transaction as the others are. (A migration
that rebuilds ``deletions_fileattempt`` itself on SQLite loses its triggers with the old table
and must create them again: tests/audit fails otherwise.)
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

from django.db import migrations

FILE_ATTEMPT = "deletions_fileattempt"
FILE_ERASURE = "deletions_fileerasure"
SIGNATURE = "deletions_purge_request_attempts(bigint, timestamptz)"


def _earlier() -> ModuleType:
    return importlib.import_module("deletions.migrations.0015_append_only_everywhere")


# --- PostgreSQL --------------------------------------------------------------------------------


def _edit(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, old
    return text.replace(old, new)


def _previous_purge() -> str:
    """The purge function as migration 0015 defined it."""
    (sql,) = [sql for sql in _earlier().PG_PURGE_FUNCTIONS if "purge_request_attempts" in sql]
    return str(sql)


# The same function, with one more guard (a file of FileErasure.OPEN_STATUSES still has work
# ahead of it) and one more DELETE, whose rows it counts with the runs' attempts.
PG_OPEN_FILE_GUARD = """    ) OR EXISTS (
        SELECT FROM deletions_fileerasure f
        WHERE f.request_id = request
          AND f.status IN ('waiting', 'pending', 'in_flight', 'unconfirmed')
"""
PG_FILE_ATTEMPTS_DELETE = """    DELETE FROM deletions_fileattempt a USING deletions_fileerasure f
    WHERE a.item_id = f.id AND f.request_id = request;
    GET DIAGNOSTICS removed_files = ROW_COUNT;
    RETURN removed + removed_files;
"""


def _purge_with_files() -> str:
    sql = _edit(
        _previous_purge(),
        "    removed bigint;\n",
        "    removed bigint;\n    removed_files bigint;\n",
    )
    sql = _edit(sql, "    ) THEN\n", PG_OPEN_FILE_GUARD + "    ) THEN\n")
    return _edit(sql, "    RETURN removed;\n", PG_FILE_ATTEMPTS_DELETE)


def _pg_define_purge(schema_editor: Any, schema: str, sql: str) -> None:
    """(Re)define the purge function: CREATE OR REPLACE keeps its owner (the purge role) but
    drops its fixed search_path, which is set again."""
    schema_editor.execute(sql, params=None)
    schema_editor.execute(
        f"ALTER FUNCTION {schema}.{SIGNATURE} SET search_path = {schema}, pg_temp"
    )


def _pg_install(schema_editor: Any) -> None:
    earlier = _earlier()
    schema = schema_editor.quote_name(earlier._pg_schema_name(schema_editor))
    run = schema_editor.execute
    run(
        f"CREATE TRIGGER {FILE_ATTEMPT}_append_only BEFORE UPDATE OR DELETE ON {FILE_ATTEMPT} "
        "FOR EACH ROW EXECUTE FUNCTION portal_attempt_append_only()"
    )
    run(
        f"CREATE TRIGGER {FILE_ATTEMPT}_no_truncate BEFORE TRUNCATE ON {FILE_ATTEMPT} "
        "FOR EACH STATEMENT EXECUTE FUNCTION portal_refuse_audit_change()"
    )
    role = earlier.PURGE_ROLE
    run(f"GRANT SELECT, DELETE ON {schema}.{FILE_ATTEMPT} TO {role}")
    run(f"GRANT SELECT ON {schema}.{FILE_ERASURE} TO {role}")
    _pg_define_purge(schema_editor, schema, _purge_with_files())


def _pg_remove(schema_editor: Any) -> None:
    earlier = _earlier()
    schema = schema_editor.quote_name(earlier._pg_schema_name(schema_editor))
    run = schema_editor.execute
    _pg_define_purge(schema_editor, schema, _previous_purge())
    run(f"REVOKE ALL ON {schema}.{FILE_ATTEMPT}, {schema}.{FILE_ERASURE} FROM {earlier.PURGE_ROLE}")
    run(f"DROP TRIGGER IF EXISTS {FILE_ATTEMPT}_no_truncate ON {FILE_ATTEMPT}")
    run(f"DROP TRIGGER IF EXISTS {FILE_ATTEMPT}_append_only ON {FILE_ATTEMPT}")


# --- SQLite ------------------------------------------------------------------------------------

# The attempt table's rules (0015). The DELETE trigger reads only the exemption table: the
# purge exempts each file erasure of the request ('file_attempt_purge', its id), so a later
# migration that rebuilds deletions_fileerasure on SQLite needs no care (0019 had to drop the
# attempt table's trigger, which reads deletions_deletionitem, around such a rebuild).
SQLITE_INSTALL = [
    # The gate completes its own 'sending' row, never another row, never its identity.
    *(
        sql.replace("deletions_deletionattempt", "deletions_fileattempt")
        for sql in _earlier().SQLITE_INSTALL
        if "TRIGGER deletions_deletionattempt_no_update " in sql
    ),
    # ... or removes it when nothing was sent.
    """
CREATE TRIGGER deletions_fileattempt_no_delete BEFORE DELETE ON deletions_fileattempt
WHEN OLD.outcome <> 'sending' AND NOT EXISTS (
    SELECT 1 FROM portal_append_only_exemption e
    WHERE e.kind = 'flush'
       OR (e.kind = 'file_attempt_purge' AND e.value = CAST(OLD.item_id AS TEXT))
)
BEGIN
    SELECT RAISE(ABORT, 'deletions_fileattempt is append-only: DELETE refused');
END
""",
]


def install(apps: Any, schema_editor: Any) -> None:
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        _pg_install(schema_editor)
    elif vendor == "sqlite":
        for sql in SQLITE_INSTALL:
            schema_editor.execute(sql)


def remove(apps: Any, schema_editor: Any) -> None:
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        _pg_remove(schema_editor)
    elif vendor == "sqlite":
        for name in ("no_update", "no_delete"):
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {FILE_ATTEMPT}_{name}")


class Migration(migrations.Migration):
    dependencies = [
        ("deletions", "0024_file_erasure"),
    ]

    operations = [
        migrations.RunPython(install, remove),
    ]
