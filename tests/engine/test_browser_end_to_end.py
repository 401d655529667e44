"""The whole product in a browser, with nothing stood in but Extend: a customer asks, staff
approve in the console, a real Celery worker deletes at the simulator, the customer's progress bar
moves to done on its own, the receipt lists every run, and the e-mails went out."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from django.core import mail

from deletions.models import DeletionRequest, ParseRun
from tests.browser import expect, screenshots, sign_in
from tests.factories import staff_user

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.django_db(transaction=True)]

shot = screenshots("end-to-end")
# The real worker is slower than the test's own process: give each step more time.
TIMEOUT_MS = 15_000


def test_a_request_goes_from_the_browser_through_a_real_worker_to_a_receipt(
    live_engine, new_page, sim, sim_workspace, engine_customer, requester
):
    approver = staff_user("approver", username="anna", email="anna@example.com")
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

    customer_page = new_page(timeout_ms=TIMEOUT_MS)
    sign_in(customer_page, requester)
    customer_page.goto("/runs/")
    customer_page.check("[data-select-page]")
    customer_page.click("button:has-text('Review deletion')")
    expect(customer_page.locator("h1")).to_have_text("Delete 12 parse runs?")
    customer_page.fill("#id_reason", "Our contract ended; please remove our documents.")
    customer_page.click("button:has-text('Request deletion of 12 runs')")
    req = DeletionRequest.objects.get()
    customer_page.wait_for_url(f"**/requests/{req.pk}/")
    expect(customer_page.locator("h1 .status")).to_have_text("Pending approval")

    staff_page = new_page(timeout_ms=TIMEOUT_MS)
    sign_in(staff_page, approver)
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
