"""Secrets at rest: encrypted, never shown, rotatable, and a wrong key fails loudly."""

from __future__ import annotations

import logging

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from deletions import crypto
from deletions.models import Workspace

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
