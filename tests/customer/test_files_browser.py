"""The customer follows a request that erases uploaded files in headless Chromium: the live
progress counts the files, the request's page lists them with why one was kept, the files page
filters them, and the receipt lists each with the Extend request id of its DELETE. Screenshots go
to tests/screenshots/customer-files-*.png."""

from __future__ import annotations

import pytest

from deletions.models import DeletionRequest, FileErasure
from tests import drive
from tests.browser import expect, screenshots, sign_in
from tests.file_outcomes import erased, settle, shared, started_with_files
from tests.helpers import submitted_request

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]

shot = screenshots("customer-files")


def test_a_customer_follows_the_files_of_their_request_to_the_receipt(
    page, workspace, customer, member, approver
):
    req = started_with_files(submitted_request(workspace, customer, member, runs=4), approver)
    settle(req, {"file_0": erased(0), "file_1": shared(2)})

    sign_in(page, member)
    page.wait_for_url("**/runs/")
    page.goto(f"/requests/{req.pk}/")
    expect(page.locator("#files-progress")).to_contain_text("2 of 4 files done")
    files = page.locator("#files tbody tr")
    expect(files).to_have_count(4)
    expect(page.locator("#files")).to_contain_text("Still used by 2 runs not in this request")
    expect(page.locator("#files")).to_contain_text("Extend request xfile_0")
    page.evaluate("window.__notReloaded = true")
    shot(page, "running")

    # The engine erases the last files: the polled progress follows without a reload.
    settle(req, {"file_2": erased(2), "file_3": erased(3)})
    expect(page.locator("#files-progress")).to_contain_text(
        "4 of 4 files done: 3 erased, 1 kept, 0 failed", timeout=8_000
    )
    drive.finish(req)
    expect(page.locator("#progress .status")).to_have_text("Completed", timeout=8_000)
    assert page.evaluate("window.__notReloaded") is True

    page.click("text=See every file")
    expect(page.locator("h1")).to_have_text(f"Uploaded files in request #{req.pk}")
    expect(page.locator("tbody tr")).to_have_count(4)
    page.click("nav.tabs >> text=Kept")
    expect(page.locator("tbody tr")).to_have_count(1)
    expect(page.locator("tbody")).to_contain_text("Still used by 2 runs not in this request")
    shot(page, "kept")

    page.goto(f"/requests/{req.pk}/receipt/")
    expect(page.locator("[data-files-summary]")).to_have_text(
        "4 of 4 files done: 3 erased, 1 kept, 0 failed, of 4 uploaded files."
    )
    receipt_files = page.locator("table[aria-labelledby='files-h'] tbody tr")
    expect(receipt_files).to_have_count(4)
    expect(receipt_files.filter(has_text="file_3")).to_contain_text("xfile_3")
    shot(page, "receipt")
    assert DeletionRequest.objects.get(pk=req.pk).status == DeletionRequest.Status.COMPLETED
    assert FileErasure.objects.filter(request=req, status=FileErasure.Status.KEPT).count() == 1
