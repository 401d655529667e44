"""Secrets at rest: encrypted, never shown, rotatable, and a wrong key fails loudly."""

from __future__ import annotations

import logging
from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.apps import apps
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import models
from django.urls import reverse

from deletions.core import crypto
from deletions.gdpr import intake
from deletions.models import AuditEvent, ErasureIntake, NotificationEndpoint, Workspace
from deletions.workspaces import key_rotation

SENTINEL = "sk_SENTINEL_never_show_me_9Q7Z"


def test_round_trip_and_only_ciphertext_is_stored(workspace):
    workspace.set_api_key(SENTINEL)
    workspace.save()
    stored = Workspace.objects.values_list("api_key_encrypted", flat=True).get(pk=workspace.pk)
    assert SENTINEL not in stored
    assert Workspace.objects.get(pk=workspace.pk).reveal_api_key() == SENTINEL
    assert workspace.masked_api_key == "••••9Q7Z"


def test_a_wrong_key_raises_instead_of_returning_ciphertext(settings, workspace):
    workspace.set_api_key(SENTINEL)
    workspace.save()
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(crypto.DecryptionError):
        Workspace.objects.get(pk=workspace.pk).reveal_api_key()


def test_rotation_re_encrypts_every_secret_under_the_newest_key(settings, workspace):
    old_key = settings.FIELD_ENCRYPTION_KEYS[0]
    workspace.set_api_key(SENTINEL)
    workspace.save()
    new_key = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [new_key, old_key]

    call_command("rotate_encryption_keys")

    # Readable with the new key alone: the old one can now be dropped.
    settings.FIELD_ENCRYPTION_KEYS = [new_key]
    fresh = Workspace.objects.get(pk=workspace.pk)
    assert fresh.reveal_api_key() == SENTINEL
    assert fresh.reveal_webhook_secret() == "wss_test_secret_wxyz"


def _every_stored_token() -> list[tuple[str, str, str]]:
    """(model, column, value) of every string value in the database that is a Fernet token."""
    found = []
    for model in apps.get_models():
        columns = [
            f.name
            for f in model._meta.concrete_fields
            if isinstance(f, models.CharField | models.TextField)
        ]
        for row in model._default_manager.values(*columns):
            for column, value in row.items():
                # Every Fernet token starts with version byte 0x80: "gAAAAA" in base64.
                if isinstance(value, str) and value.startswith("gAAAAA"):
                    found.append((model._meta.label, column, value))
    return found


def test_every_column_holding_a_secret_is_rotated():
    """A column that holds ciphertext must be an EncryptedTextField: rotation walks those, and
    one it missed would be lost when the old key is dropped."""
    rotated = {
        (model._meta.label, name)
        for model, names in key_rotation.encrypted_fields().items()
        for name in names
    }
    named_like_a_secret = {
        (model._meta.label, field.name)
        for model in apps.get_models()
        for field in model._meta.concrete_fields
        if any(word in field.name for word in ("encrypted", "cipher"))
    }
    assert named_like_a_secret - rotated == set()
    assert {
        ("deletions.Workspace", "api_key_encrypted"),
        ("deletions.Workspace", "webhook_secret_encrypted"),
        ("deletions.NotificationEndpoint", "secret_encrypted"),
        ("deletions.ErasureIntake", "email_encrypted"),
        ("deletions.ErasureIntake", "subject_ref_encrypted"),
    } <= rotated


def test_after_rotation_every_secret_opens_with_the_new_key_alone(settings, workspace, customer):
    old_key = settings.FIELD_ENCRYPTION_KEYS[0]
    endpoint = NotificationEndpoint(customer=customer, url="https://hooks.acme.example/erasure")
    endpoint.set_secret("whsec_SENTINEL_notify")
    endpoint.save()
    received = intake.create_intake(customer, email="subject@example.org", reference="PAT-0042")
    tokens_before = _every_stored_token()
    assert len(tokens_before) == 5
    new_key = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [new_key, old_key]

    call_command("rotate_encryption_keys", stdout=StringIO())

    settings.FIELD_ENCRYPTION_KEYS = [new_key]  # the old key is dropped
    fresh = Workspace.objects.get(pk=workspace.pk)
    assert fresh.reveal_api_key() == "sk_test_key_abcd"
    assert fresh.reveal_webhook_secret() == "wss_test_secret_wxyz"
    assert NotificationEndpoint.objects.get(pk=endpoint.pk).reveal_secret() == (
        "whsec_SENTINEL_notify"
    )
    stored = ErasureIntake.objects.get(pk=received.pk)
    assert crypto.decrypt(stored.email_encrypted) == "subject@example.org"
    assert intake.intake_reference(stored) == "PAT-0042"
    # Whatever model holds it, no ciphertext in the database still needs the old key.
    tokens_after = _every_stored_token()
    assert len(tokens_after) == len(tokens_before)
    for label, column, token in tokens_after:
        assert crypto.decrypt(token), (label, column)
    assert set(
        AuditEvent.objects.filter(action__endswith=".secrets_rotated").values_list(
            "action", flat=True
        )
    ) == {
        "workspace.secrets_rotated",
        "notificationendpoint.secrets_rotated",
        "erasureintake.secrets_rotated",
    }


def test_rotation_without_the_old_key_changes_nothing(settings, workspace):
    before = Workspace.objects.values_list("api_key_encrypted", flat=True).get(pk=workspace.pk)
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(CommandError, match="Nothing was changed"):
        call_command("rotate_encryption_keys")
    after = Workspace.objects.values_list("api_key_encrypted", flat=True).get(pk=workspace.pk)
    assert after == before


def test_the_secret_is_not_in_repr_or_str(workspace):
    workspace.set_api_key(SENTINEL)
    assert SENTINEL not in repr(workspace)
    assert SENTINEL not in str(workspace)
    assert "9Q7Z" in repr(workspace)


def test_admin_pages_never_show_the_secret(client, workspace, staff_admin, caplog):
    workspace.set_api_key(SENTINEL)
    workspace.save()
    staff_admin.is_superuser = True
    staff_admin.save()
    client.force_login(staff_admin)
    with caplog.at_level(logging.DEBUG):
        change = client.get(reverse("admin:deletions_workspace_change", args=[workspace.pk]))
        listing = client.get(reverse("admin:deletions_workspace_changelist"))
    for response in (change, listing):
        assert response.status_code == 200
        assert SENTINEL.encode() not in response.content
        assert workspace.api_key_encrypted.encode() not in response.content
    assert "••••9Q7Z" in change.content.decode()
    assert SENTINEL not in caplog.text


def test_the_admin_cannot_change_a_workspace_or_its_key(client, workspace, staff_admin):
    """Keys and URLs change only in the console, which closes the dispatch fence and audits."""
    staff_admin.is_superuser = True
    staff_admin.save()
    client.force_login(staff_admin)
    before = (workspace.api_key_encrypted, workspace.base_url, workspace.credentials_version)
    url = reverse("admin:deletions_workspace_change", args=[workspace.pk])
    form = {
        "name": workspace.name,
        "base_url": "https://api.eu1.extend.ai",
        "api_version": "2026-02-09",
        "key_scope": "workspace",
        "customer_metadata_key": "customer_id",
        "rate_limit": 10,
        "get_rate_limit": 10,
        "health": "active",
        "api_key": SENTINEL,
    }
    response = client.post(url, form)
    assert response.status_code == 403
    workspace.refresh_from_db()
    assert (workspace.api_key_encrypted, workspace.base_url, workspace.credentials_version) == (
        before
    )
