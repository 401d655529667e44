"""Append-only on both databases, and encrypted columns marked for key rotation.

PostgreSQL. The audit and attempt tables' triggers no longer read a session setting: any
session could set ``portal.audit_purge``, so any session could delete any audit row. DELETE now
passes only when ``current_user`` is the purge-owner role ``portal_audit_purger`` (NOLOGIN),
which is what it is inside the two SECURITY DEFINER functions it owns, and only they:

- ``deletions_purge_expired_audit(cutoff)`` deletes audit events older than *cutoff*;
- ``deletions_purge_request_attempts(request, cutoff)`` deletes the attempts of one request
  that finished before *cutoff*, with every item final.

Both refuse a cutoff less than 28 days before the database's own clock, so whoever can call
them (the application) can never remove recent records. UPDATE is refused to every role (the
attempt table still lets the gate complete, or remove, its own ``sending`` row). TRUNCATE passes
only when the *database* carries ``portal.allow_truncate=on`` (``ALTER DATABASE``, which only its
owner or a superuser can set; the test database does, so tests can be flushed); a session's
``SET`` no longer counts. The migration creates the role if it is missing (possible where it
runs as a superuser: tests, ``make run``, CI); in production the DBA creates it first (see
docs/deployment.md, "Database roles"). A superuser or the tables' owner can still drop or
disable triggers: the application must connect as a role that is neither.

SQLite (the embedded, single-user default) has no roles. BEFORE UPDATE/DELETE triggers refuse
the same changes; the retention purge is let through by an exemption row it inserts and removes
inside its own transaction (``portal_append_only_exemption``), so it is never committed. This
guards against the portal's own code and stray SQL, not against whoever can write the file.
"""

from __future__ import annotations

import importlib
from typing import Any

from django.db import DatabaseError, migrations

import deletions.core.fields

PURGE_ROLE = "portal_audit_purger"
AUDIT = "deletions_auditevent"
ATTEMPT = "deletions_deletionattempt"
ITEM = "deletions_deletionitem"
REQUEST = "deletions_deletionrequest"

# --- PostgreSQL --------------------------------------------------------------------------------

PG_CREATE_ROLE = f"""
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = '{PURGE_ROLE}') THEN
        CREATE ROLE {PURGE_ROLE} NOLOGIN;
    END IF;
EXCEPTION
    WHEN duplicate_object OR unique_violation THEN
        NULL;  -- another database of this cluster created it at the same moment
    WHEN insufficient_privilege THEN
        RAISE EXCEPTION 'role {PURGE_ROLE} is missing and this role may not create it'
            USING HINT = 'Create it as in docs/deployment.md (Database roles), then migrate.';
END $$;
"""

# Whether the database itself (not the session) lets TRUNCATE through.
PG_TRUNCATE_ALLOWED = """EXISTS (
        SELECT FROM pg_catalog.pg_db_role_setting s
        JOIN pg_catalog.pg_database d ON d.oid = s.setdatabase
        WHERE d.datname = current_database() AND s.setrole = 0
          AND 'portal.allow_truncate=on' = ANY (s.setconfig)
    )"""

PG_AUDIT_TRIGGER = f"""
CREATE OR REPLACE FUNCTION portal_refuse_audit_change() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' AND current_user = '{PURGE_ROLE}' THEN
        RETURN OLD;
    END IF;
    IF TG_OP = 'TRUNCATE' AND {PG_TRUNCATE_ALLOWED} THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
"""

PG_ATTEMPT_TRIGGER = f"""
CREATE OR REPLACE FUNCTION portal_attempt_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.outcome = 'sending' THEN
        IF TG_OP = 'UPDATE' THEN
            IF NEW.id = OLD.id AND NEW.item_id = OLD.item_id AND NEW.kind = OLD.kind THEN
                RETURN NEW;
            END IF;
        ELSE
            RETURN OLD;
        END IF;
    END IF;
    IF TG_OP = 'DELETE' AND current_user = '{PURGE_ROLE}' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
"""


# Tables are named without their schema: each function runs with its search_path fixed to the
# portal's schema (set after creation, below), so a caller cannot substitute tables of their own.
# Both begin with the same guard: nothing younger than 28 days by the database's own clock, so
# whoever may call them (the application) can never remove recent records. (The portal's own
# retention settings are at least 30 days: two days' margin for the clocks of app and database.)
PG_AGE_GUARD = """
    IF cutoff IS NULL OR cutoff > now() - interval '28 days' THEN
        RAISE EXCEPTION 'nothing younger than 28 days is purged (cutoff %)', cutoff
            USING ERRCODE = 'insufficient_privilege';
    END IF;
"""
PG_PURGE_FUNCTIONS = [
    function.replace("    -- the age guard\n", PG_AGE_GUARD)
    for function in (
        """
CREATE OR REPLACE FUNCTION deletions_purge_expired_audit(cutoff timestamptz)
RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    removed bigint;
BEGIN
    -- the age guard
    DELETE FROM deletions_auditevent WHERE at < cutoff;
    GET DIAGNOSTICS removed = ROW_COUNT;
    RETURN removed;
END;
$$;
""",
        """
CREATE OR REPLACE FUNCTION deletions_purge_request_attempts(request bigint, cutoff timestamptz)
RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    removed bigint;
BEGIN
    -- the age guard
    IF NOT EXISTS (
        SELECT FROM deletions_deletionrequest r
        WHERE r.id = request AND r.updated_at < cutoff
          AND r.status IN ('completed', 'completed_with_failures', 'rejected', 'cancelled',
                           'expired')
    ) OR EXISTS (
        SELECT FROM deletions_deletionitem i
        WHERE i.request_id = request AND i.status NOT IN ('deleted', 'already_gone', 'failed')
    ) THEN
        RAISE EXCEPTION 'request % is not finished before %: its attempts stay', request, cutoff
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    DELETE FROM deletions_deletionattempt a USING deletions_deletionitem i
    WHERE a.item_id = i.id AND i.request_id = request;
    GET DIAGNOSTICS removed = ROW_COUNT;
    RETURN removed;
END;
$$;
""",
    )
]


PG_SIGNATURES = [
    "deletions_purge_expired_audit(timestamptz)",
    "deletions_purge_request_attempts(bigint, timestamptz)",
]


def _pg_fetch(schema_editor: Any, sql: str, params: list[str]) -> Any:
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


def _pg_schema_name(schema_editor: Any) -> str:
    """The schema the portal's tables are in (``public`` unless the search_path says else)."""
    return str(
        _pg_fetch(
            schema_editor,
            "SELECT n.nspname FROM pg_catalog.pg_class c "
            "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.oid = %s::regclass",
            [AUDIT],
        )
    )


def _pg_install(schema_editor: Any) -> None:
    name = _pg_schema_name(schema_editor)
    schema = schema_editor.quote_name(name)
    run = schema_editor.execute
    run(PG_CREATE_ROLE, params=None)
    run(PG_AUDIT_TRIGGER, params=None)
    run(PG_ATTEMPT_TRIGGER, params=None)
    usage = "SELECT has_schema_privilege(%s, %s, 'USAGE')"
    if not _pg_fetch(schema_editor, usage, [PURGE_ROLE, name]):
        run(f"GRANT USAGE ON SCHEMA {schema} TO {PURGE_ROLE}")
    run(f"GRANT SELECT, DELETE ON {schema}.{AUDIT}, {schema}.{ATTEMPT} TO {PURGE_ROLE}")
    run(f"GRANT SELECT ON {schema}.{ITEM}, {schema}.{REQUEST} TO {PURGE_ROLE}")
    # Created in the portal's schema (the first of the search_path, where its tables are).
    for sql in PG_PURGE_FUNCTIONS:
        run(sql, params=None)
    for signature in PG_SIGNATURES:
        # pg_catalog is searched first anyway, pg_temp last: nothing a caller creates is used.
        run(f"ALTER FUNCTION {schema}.{signature} SET search_path = {schema}, pg_temp")
        try:
            run(f"ALTER FUNCTION {schema}.{signature} OWNER TO {PURGE_ROLE}")
        except DatabaseError as exc:
            raise DatabaseError(
                f"{exc} -- the migrating role must be a member of {PURGE_ROLE}, which needs "
                "CREATE on the schema: see docs/deployment.md, Database roles."
            ) from exc


def _pg_remove(schema_editor: Any) -> None:
    schema = schema_editor.quote_name(_pg_schema_name(schema_editor))
    run = schema_editor.execute
    for signature in PG_SIGNATURES:
        run(f"DROP FUNCTION IF EXISTS {schema}.{signature}")
    run(f"REVOKE ALL ON {schema}.{AUDIT}, {schema}.{ATTEMPT} FROM {PURGE_ROLE}")
    run(f"REVOKE ALL ON {schema}.{ITEM}, {schema}.{REQUEST} FROM {PURGE_ROLE}")
    # The earlier trigger bodies, with their session switch (the role stays: it is the
    # cluster's, other databases may use it).
    run(_earlier("0002_roles_and_append_only_audit", "PG_FUNCTION"), params=None)
    run(_earlier("0011_dispatch_gate", "PG_ATTEMPT_FUNCTION"), params=None)


def _earlier(migration: str, name: str) -> str:
    module = importlib.import_module(f"deletions.migrations.{migration}")
    return str(getattr(module, name))


# --- SQLite ------------------------------------------------------------------------------------

SQLITE_INSTALL = [
    # kind 'audit_purge': value is a cutoff, audit rows older than it may go; 'attempt_purge':
    # value is a request id whose attempts may go; 'flush': the test database's flush.
    "CREATE TABLE IF NOT EXISTS portal_append_only_exemption "
    "(kind TEXT NOT NULL, value TEXT NOT NULL)",
    """
CREATE TRIGGER deletions_auditevent_no_update BEFORE UPDATE ON deletions_auditevent
BEGIN
    SELECT RAISE(ABORT, 'deletions_auditevent is append-only: UPDATE refused');
END
""",
    """
CREATE TRIGGER deletions_auditevent_no_delete BEFORE DELETE ON deletions_auditevent
WHEN NOT EXISTS (
    SELECT 1 FROM portal_append_only_exemption
    WHERE kind = 'flush' OR (kind = 'audit_purge' AND OLD.at < value)
)
BEGIN
    SELECT RAISE(ABORT, 'deletions_auditevent is append-only: DELETE refused');
END
""",
    # The gate completes its own 'sending' row, never another row, never its identity.
    """
CREATE TRIGGER deletions_deletionattempt_no_update BEFORE UPDATE ON deletions_deletionattempt
WHEN NOT (
    OLD.outcome = 'sending'
    AND NEW.id = OLD.id AND NEW.item_id = OLD.item_id AND NEW.kind = OLD.kind
)
BEGIN
    SELECT RAISE(ABORT, 'deletions_deletionattempt is append-only: UPDATE refused');
END
""",
    # ... or removes it when nothing was sent.
    """
CREATE TRIGGER deletions_deletionattempt_no_delete BEFORE DELETE ON deletions_deletionattempt
WHEN OLD.outcome <> 'sending' AND NOT EXISTS (
    SELECT 1 FROM portal_append_only_exemption e
    WHERE e.kind = 'flush' OR (
        e.kind = 'attempt_purge' AND EXISTS (
            SELECT 1 FROM deletions_deletionitem i
            WHERE i.id = OLD.item_id AND i.request_id = CAST(e.value AS INTEGER)
        )
    )
)
BEGIN
    SELECT RAISE(ABORT, 'deletions_deletionattempt is append-only: DELETE refused');
END
""",
]

SQLITE_REMOVE = [
    "DROP TRIGGER IF EXISTS deletions_auditevent_no_update",
    "DROP TRIGGER IF EXISTS deletions_auditevent_no_delete",
    "DROP TRIGGER IF EXISTS deletions_deletionattempt_no_update",
    "DROP TRIGGER IF EXISTS deletions_deletionattempt_no_delete",
    "DROP TABLE IF EXISTS portal_append_only_exemption",
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
        for sql in SQLITE_REMOVE:
            schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [
        ("deletions", "0014_service_accounts"),
    ]

    operations = [
        migrations.AlterField(
            model_name="erasureintake",
            name="email_encrypted",
            field=deletions.core.fields.EncryptedTextField(blank=True),
        ),
        migrations.AlterField(
            model_name="erasureintake",
            name="subject_ref_encrypted",
            field=deletions.core.fields.EncryptedTextField(blank=True),
        ),
        migrations.AlterField(
            model_name="notificationendpoint",
            name="secret_encrypted",
            field=deletions.core.fields.EncryptedTextField(editable=False),
        ),
        migrations.AlterField(
            model_name="workspace",
            name="api_key_encrypted",
            field=deletions.core.fields.EncryptedTextField(blank=True, editable=False),
        ),
        migrations.AlterField(
            model_name="workspace",
            name="webhook_secret_encrypted",
            field=deletions.core.fields.EncryptedTextField(blank=True, editable=False),
        ),
        migrations.RunPython(install, remove),
    ]
