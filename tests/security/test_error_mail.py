"""Error e-mails to the admins carry no secret: not a setting named like one, not the password of
any URL (REDIS_URL, CELERY_BROKER_URL, a cache's LOCATION, a DATABASE_URL in the environment),
however deeply nested, nor one in the exception's message."""

from __future__ import annotations

import sys
from typing import Any
from unittest import mock

import pytest
from django.core import mail
from django.test import Client, RequestFactory
from django.utils.module_loading import import_string
from django.views.debug import ExceptionReporter, get_default_exception_reporter_filter

from portal.logging import SecretsFilter

SECRETS = {
    "REDIS_URL": "redis://:redis-pw-1@redis.internal:6379/0",
    "CELERY_BROKER_URL": "amqp://portal:broker-pw-2@rabbit.internal:5672/portal",
    "SENTRY_DSN": "https://dsn-key-3@o1.ingest.example.com/1",
    "EXTEND_CREDENTIALS": "credential-value-4",
    "PARTNER_PRIVATE_PEM": "private-value-5",
}
CACHE_PASSWORD = "cache-pw-6"
NESTED_PASSWORD = "sentinel-pw-7"
ENVIRONMENT_PASSWORD = "environ-pw-8"
MESSAGE_PASSWORD = "message-pw-9"


def secret_values() -> list[str]:
    values = [CACHE_PASSWORD, NESTED_PASSWORD, ENVIRONMENT_PASSWORD, MESSAGE_PASSWORD]
    values += [v for k, v in SECRETS.items() if not k.endswith("_URL")]
    values += ["redis-pw-1", "broker-pw-2"]
    return values


@pytest.fixture
def secret_settings(settings):
    settings.DEBUG = False
    settings.ADMINS = [("Ops", "ops@example.com")]
    for name, value in SECRETS.items():
        setattr(settings, name, value)
    settings.CACHES = {
        **settings.CACHES,
        "reports": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"redis://:{CACHE_PASSWORD}@cache.internal:6379/2",
        },
    }
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": 900,
        "sentinels": [("sentinel.internal", 26379, {"url": f"redis://:{NESTED_PASSWORD}@s:1"})],
    }
    get_default_exception_reporter_filter.cache_clear()
    yield settings
    get_default_exception_reporter_filter.cache_clear()


BOOM = RuntimeError(f"cannot reach redis://:{MESSAGE_PASSWORD}@redis.internal:6379/0")
ENVIRON: dict[str, Any] = {
    "DATABASE_URL": f"postgres://portal:{ENVIRONMENT_PASSWORD}@db.internal:5432/portal"
}


def assert_no_secret(text: str, where: str) -> None:
    for secret in secret_values():
        assert secret not in text, f"{secret!r} is in {where}"


@pytest.mark.django_db
def test_the_error_email_of_a_crash_masks_every_secret_setting_and_url(secret_settings):
    client = Client(raise_request_exception=False)
    with mock.patch("deletions.gdpr.certificate_checks.verify", side_effect=BOOM):
        response = client.post("/certificates/verify/", {"document": "{}"}, **ENVIRON)

    assert response.status_code == 500
    (message,) = [m for m in mail.outbox if "ops@example.com" in m.to]
    assert "cannot reach redis://:" in message.body
    assert "redis.internal:6379" in message.body  # hosts stay readable; only passwords go
    assert "REDIS_URL" in message.body and "EXTEND_CREDENTIALS" in message.body
    assert_no_secret(f"{message.subject}\n{message.body}", "the error e-mail")


def test_the_technical_report_text_and_html_mask_them_too(secret_settings):
    request = RequestFactory().post("/x/", {"password": "posted-pw"}, **ENVIRON)
    url_in_a_variable = f"redis://:{NESTED_PASSWORD}@local:6379"  # shown in the HTML report
    try:
        raise BOOM
    except RuntimeError:
        # The reporter and filter the settings name, as AdminEmailHandler uses them.
        reporter_class = import_string(secret_settings.DEFAULT_EXCEPTION_REPORTER)
        reporter = reporter_class(request, *sys.exc_info(), is_email=True)
        assert isinstance(reporter, ExceptionReporter)
        assert isinstance(reporter.filter, SecretsFilter)
        text = reporter.get_traceback_text()
        html = reporter.get_traceback_html()
    assert url_in_a_variable not in html
    assert "posted-pw" not in text
    assert_no_secret(text, "the report's text")
    assert_no_secret(html, "the report's HTML")


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("redis://:pw@h:6379/0", "redis://:********************@h:6379/0"),
        ("postgres://u:p@ss@db/x", "postgres://u:********************@db/x"),
        ("https://h/x?api_key=k&page=2", "https://h/x?api_key=********************&page=2"),
        ("https://user@h/x", "https://user@h/x"),
        ("sqlite:///var/portal.sqlite3", "sqlite:///var/portal.sqlite3"),
    ],
)
def test_only_the_secret_part_of_a_url_is_masked(url, masked):
    assert SecretsFilter().cleanse_setting("SOME_URL", url) == masked
