"""Data migrations, run for real: the schema is taken back to the migration before, rows are made
with the models of that time, and the migration under test is applied (and reversed)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("deletions", "0009_gdpr_deadline_pause")]
AFTER = [("deletions", "0010_organizations")]


@pytest.fixture
def migrate():
    """Migrate to the given targets; the latest schema comes back whatever the test did."""
    leaves = MigrationExecutor(connection).loader.graph.leaf_nodes()

    def to(targets):
        executor = MigrationExecutor(connection)
        executor.migrate(targets)
        return executor.loader.project_state(targets).apps

    yield to
    to(leaves)


def test_organisation_references_become_organisations_with_their_workspaces(migrate):
    old = migrate(BEFORE)
    workspace = old.get_model("deletions", "Workspace")
    for name, ref, write, get in [
        ("EU prod", "org_acme", 10, 25),
        ("EU staging", "org_acme", 4, 40),
        ("US prod", " org_globex ", 12, 12),
        ("Alone", "", 6, 7),
        ("Blank", "   ", 8, 9),
    ]:
        workspace.objects.create(
            name=name, organization_ref=ref, rate_limit=write, get_rate_limit=get
        )

    new = migrate(AFTER)

    org_model = new.get_model("deletions", "Organization")
    orgs = {
        o.name: (o.extend_organization_id, o.write_rate_limit, o.get_rate_limit)
        for o in org_model.objects.all()
    }
    # The smallest of its workspaces' limits: never faster than any of them was allowed.
    assert orgs == {"org_acme": ("org_acme", 4, 25), "org_globex": ("org_globex", 12, 12)}
    placed = dict(
        new.get_model("deletions", "Workspace").objects.values_list("name", "organization__name")
    )
    assert placed == {
        "EU prod": "org_acme",
        "EU staging": "org_acme",
        "US prod": "org_globex",
        "Alone": None,
        "Blank": None,
    }


def test_the_migration_can_be_reversed_to_references(migrate):
    migrate(BEFORE)
    new = migrate(AFTER)
    org = new.get_model("deletions", "Organization").objects.create(
        name="Named only", write_rate_limit=3
    )
    workspace = new.get_model("deletions", "Workspace")
    workspace.objects.create(name="In it", organization=org)
    workspace.objects.create(name="Alone")

    old = migrate(BEFORE)

    refs = dict(
        old.get_model("deletions", "Workspace").objects.values_list("name", "organization_ref")
    )
    assert refs == {"In it": "Named only", "Alone": ""}
