"""Staff groups with their permissions, and database triggers that make the audit append-only.

On PostgreSQL the trigger refuses UPDATE, DELETE and TRUNCATE. Two escape hatches, both off
unless set explicitly: DELETE when the transaction set ``portal.audit_purge`` to ``on`` (only the
retention purge does, for records past their period), and TRUNCATE when the session has
``portal.allow_truncate`` on (only the test database does, so tests can be flushed).
SQLite, the development default, relies on the model's own refusal (AuditEvent.save/delete).
"""

from typing import Any

from django.db import migrations

APPEND_ONLY_TABLES = ["deletions_auditevent", "deletions_deletionattempt"]

PG_FUNCTION = """
CREATE OR REPLACE FUNCTION portal_refuse_audit_change() RETURNS trigger AS $$
BEGIN
    IF current_setting('portal.audit_purge', true) = 'on' AND TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    IF current_setting('portal.allow_truncate', true) = 'on' AND TG_OP = 'TRUNCATE' THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
"""


def install_triggers(apps: Any, schema_editor: Any) -> None:
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_FUNCTION, params=None)
        for table in APPEND_ONLY_TABLES:
            schema_editor.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                f"FOR EACH ROW EXECUTE FUNCTION portal_refuse_audit_change();"
            )
            schema_editor.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                f"FOR EACH STATEMENT EXECUTE FUNCTION portal_refuse_audit_change();"
            )


def remove_triggers(apps: Any, schema_editor: Any) -> None:
    vendor = schema_editor.connection.vendor
    for table in APPEND_ONLY_TABLES:
        if vendor == "postgresql":
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table};")
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table};")


GROUP_PERMISSIONS = {
    "viewer": ["view_console"],
    "approver": ["view_console", "approve_request", "operate_engine"],
    "admin": ["view_console", "approve_request", "operate_engine", "administer_portal"],
}


def create_groups(apps: Any, schema_editor: Any) -> None:
    from django.contrib.auth.management import create_permissions

    # Permissions are normally created after all migrations; we need them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    group_model = apps.get_model("auth", "Group")
    permission_model = apps.get_model("auth", "Permission")
    for name, codenames in GROUP_PERMISSIONS.items():
        group, _ = group_model.objects.get_or_create(name=name)
        perms = permission_model.objects.filter(
            content_type__app_label="deletions", codename__in=codenames
        )
        group.permissions.set(perms)


class Migration(migrations.Migration):
    dependencies = [
        ("deletions", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.RunPython(install_triggers, remove_triggers),
        migrations.RunPython(create_groups, migrations.RunPython.noop),
    ]
