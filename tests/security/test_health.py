"""The health endpoints: public, JSON, no data; 200 or 503 for the web process's database and
for the worker heartbeat."""

from __future__ import annotations

from unittest import mock

import pytest
from django.core.cache import cache
from django.db import DatabaseError
from django.test import Client

from deletions.engine import health as engine_health


@pytest.fixture(autouse=True)
def _no_heartbeat():
    cache.delete(engine_health.WORKER_SEEN_KEY)
    yield
    cache.delete(engine_health.WORKER_SEEN_KEY)


def test_the_web_check_answers_200_when_the_database_answers(db):
    response = Client().get("/health/")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}
    assert "no-cache" in response["Cache-Control"]


def test_the_web_check_answers_503_when_the_database_does_not(db):
    with mock.patch("deletions.views.health.connection.cursor", side_effect=DatabaseError("down")):
        response = Client(raise_request_exception=False).get("/health/")

    assert response.status_code == 503
    assert response.json()["database"] == "unreachable"


def test_the_worker_check_answers_503_without_a_recent_heartbeat(db):
    response = Client().get("/health/worker/")

    assert response.status_code == 503
    assert response.json()["status"] == "error"


def test_the_worker_check_answers_200_after_a_worker_reported_in(db):
    engine_health.note_worker_alive()

    response = Client().get("/health/worker/")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "worker": "ok"}


def test_the_worker_check_answers_503_when_the_heartbeat_is_too_old(db, settings):
    engine_health.note_worker_alive()
    settings.RECONCILE_INTERVAL_SECONDS = 10
    with mock.patch("deletions.engine.health.time.time", return_value=10**10):
        response = Client().get("/health/worker/")

    assert response.status_code == 503


@pytest.mark.parametrize("url", ["/health/", "/health/worker/"])
def test_the_health_checks_refuse_to_change_anything(db, url):
    assert Client().post(url).status_code in (403, 405)
