"""The whole product in a browser, with nothing stood in but Extend: a customer asks, staff
approve in the console, a real Celery worker deletes at the simulator, the customer's progress bar
moves to done on its own, the receipt lists every run, and the e-mails went out."""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core import mail
from playwright.sync_api import expect, sync_playwright

from deletions import notifications
from deletions.models import DeletionRequest, ParseRun
from tests.factories import ensure_staff_groups, staff_user

# Playwright's sync API runs an event loop in this thread; the ORM calls here are synchronous.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct horse battery staple"
SCREENSHOTS = Path(__file__).resolve().parents[1] / "screenshots"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture
def new_page(live_server) -> Iterator[object]:
    """A page in a browser context of its own (its own cookies: one signed-in user each)."""
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)

        def make():
            context = browser.new_context(
                viewport={"width": 1280, "height": 900},
                base_url=live_server.url,
                accept_downloads=True,
            )
            context.set_default_timeout(15_000)
            return context.new_page()

        yield make
        browser.close()


def sign_in(page, username: str) -> None:
    page.goto("/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    expect(page.locator("#id_password")).to_have_count(0)


def shot(page, name: str) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"end-to-end-{name}.png"), full_page=True)


def test_a_request_goes_from_the_browser_through_a_real_worker_to_a_receipt(
    live_engine, new_page, sim, sim_workspace, engine_customer, requester
):
    notifications.register()
    ensure_staff_groups()
    staff_user("approver", username="anna", email="anna@example.com")
    sim.set_faults({"latency": {"mean_ms": 40}})
    ids = [run["id"] for run in sim.add_runs(count=12)]
    ParseRun.objects.bulk_create(
        ParseRun(
            workspace=sim_workspace, customer=engine_customer, run_id=i, file_name=f"doc-{n}.pdf"
        )
        for n, i in enumerate(ids)
    )
    live_engine.start_worker()
    live_engine.start_beat()

    customer_page = new_page()
    sign_in(customer_page, requester.username)
    customer_page.goto("/runs/")
    customer_page.check("[data-select-page]")
    customer_page.click("button:has-text('Review deletion')")
    expect(customer_page.locator("h1")).to_have_text("Delete 12 parse runs?")
    customer_page.fill("#id_reason", "Our contract ended; please remove our documents.")
    customer_page.click("button:has-text('Request deletion of 12 runs')")
    req = DeletionRequest.objects.get()
    customer_page.wait_for_url(f"**/requests/{req.pk}/")
    expect(customer_page.locator("h1 .status")).to_have_text("Pending approval")

    staff_page = new_page()
    sign_in(staff_page, "anna")
    staff_page.goto(f"/console/requests/{req.pk}/")
    staff_page.click("a.btn:has-text('Approve')")
    staff_page.click("button:has-text('Approve')")
    staff_page.wait_for_selector(".msg-success")
    shot(staff_page, "approved")

    # The customer's page, never reloaded, follows the real worker to the end.
    customer_page.evaluate("window.__notReloaded = true")
    expect(customer_page.locator("[data-percent]")).to_have_text("100%", timeout=60_000)
    expect(customer_page.locator("#progress .status")).to_have_text("Completed")
    assert customer_page.evaluate("window.__notReloaded") is True
    shot(customer_page, "completed")

    assert all(sim.is_deleted(run_id) for run_id in ids)
    with customer_page.expect_download() as info:
        customer_page.click("text=Download receipt (CSV)")
    rows = list(csv.DictReader(io.StringIO(Path(info.value.path()).read_text())))
    assert sorted(r["run_id"] for r in rows) == sorted(ids)
    assert {r["outcome"] for r in rows} == {"deleted"}

    # Approval was mailed by the web process; completion by the worker, whose mail goes to its
    # console (the embedded default's mail backend), so read it from the worker's log.
    subjects = [m.subject for m in mail.outbox if requester.email in m.to]
    assert any("approved" in s.lower() for s in subjects), subjects
    worker_mail = "".join(
        p.read_text(errors="replace") for p in live_engine.tmp.glob("worker*.log")
    )
    completion = [
        line
        for line in worker_mail.splitlines()
        if line.startswith("Subject:") and f"#{req.pk}" in line
    ]
    assert completion, "the worker sent no e-mail about the request"
    assert f"To: {requester.email}" in worker_mail
