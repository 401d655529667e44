"""Extend organisations as records: each distinct ``Workspace.organization_ref`` becomes an
``Organization`` (name and Extend id = the reference, limits = the smallest of its workspaces'
limits, so nothing sends faster than before), its workspaces are linked to it, and the free-text
reference goes."""

import django.core.validators
import django.db.models.deletion
from django.db import migrations, models

NAME_LENGTH = 100


def _unique_name(ref, taken):
    name = ref[:NAME_LENGTH]
    n = 2
    while name in taken:
        suffix = f" ({n})"
        name = ref[: NAME_LENGTH - len(suffix)] + suffix
        n += 1
    taken.add(name)
    return name


def refs_to_organizations(apps, schema_editor):
    Workspace = apps.get_model("deletions", "Workspace")
    Organization = apps.get_model("deletions", "Organization")
    groups = {}
    for ws in Workspace.objects.exclude(organization_ref="").order_by("pk"):
        ref = ws.organization_ref.strip()
        if ref:
            groups.setdefault(ref, []).append(ws)
    taken = set(Organization.objects.values_list("name", flat=True))
    for ref, workspaces in sorted(groups.items()):
        org = Organization.objects.create(
            name=_unique_name(ref, taken),
            extend_organization_id=ref,
            # The workspaces shared one limiter key at their own (possibly different) rates;
            # the smallest is the one that was never exceeded. At least 1: 0 would stop work.
            write_rate_limit=max(1, min(ws.rate_limit for ws in workspaces)),
            get_rate_limit=max(1, min(ws.get_rate_limit for ws in workspaces)),
        )
        Workspace.objects.filter(pk__in=[ws.pk for ws in workspaces]).update(organization=org)


def organizations_to_refs(apps, schema_editor):
    Workspace = apps.get_model("deletions", "Workspace")
    for ws in Workspace.objects.filter(organization__isnull=False).select_related("organization"):
        ws.organization_ref = ws.organization.extend_organization_id or ws.organization.name
        ws.save(update_fields=["organization_ref"])


class Migration(migrations.Migration):
    dependencies = [
        ("deletions", "0009_gdpr_deadline_pause"),
    ]

    operations = [
        migrations.CreateModel(
            name="Organization",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("name", models.CharField(max_length=100, unique=True)),
                (
                    "extend_organization_id",
                    models.CharField(
                        blank=True,
                        help_text="Optional; for reference. Unique when given.",
                        max_length=255,
                        verbose_name="Extend organisation id",
                    ),
                ),
                (
                    "write_rate_limit",
                    models.PositiveIntegerField(
                        default=10,
                        help_text="DELETE requests per second (Extend's WRITE category), for all of its workspaces.",
                        validators=[django.core.validators.MinValueValidator(1)],
                    ),
                ),
                (
                    "get_rate_limit",
                    models.PositiveIntegerField(
                        default=10,
                        help_text="GET requests per second (list, retrieve, verification), for all of its workspaces.",
                        validators=[django.core.validators.MinValueValidator(1)],
                    ),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True)),
            ],
            options={
                "ordering": ["name"],
                "constraints": [
                    models.UniqueConstraint(
                        condition=models.Q(("extend_organization_id", ""), _negated=True),
                        fields=("extend_organization_id",),
                        name="organization_extend_id_unique_when_set",
                        violation_error_message="Another organisation has this Extend organisation id.",
                    )
                ],
            },
        ),
        migrations.AddField(
            model_name="workspace",
            name="organization",
            field=models.ForeignKey(
                blank=True,
                help_text="Workspaces of one Extend organisation share its rate limits. Without one, the workspace has its own limits.",
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="workspaces",
                to="deletions.organization",
            ),
        ),
        migrations.RunPython(refs_to_organizations, organizations_to_refs),
        migrations.RemoveField(
            model_name="workspace",
            name="organization_ref",
        ),
        migrations.AlterField(
            model_name="workspace",
            name="get_rate_limit",
            field=models.PositiveIntegerField(
                default=10,
                help_text="GET requests per second (list, retrieve, verification). Ignored while the workspace belongs to an organisation: the organisation's limit applies.",
            ),
        ),
        migrations.AlterField(
            model_name="workspace",
            name="rate_limit",
            field=models.PositiveIntegerField(
                default=10,
                help_text="DELETE requests per second (Extend's WRITE category). Ignored while the workspace belongs to an organisation: the organisation's limit applies.",
            ),
        ),
    ]
