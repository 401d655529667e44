"""The new-request page's uploaded files in headless Chromium: the counts before submitting, the
box preset from the customer's default, locked on while the request is a GDPR one, and the
request's page saying what was chosen. A screenshot goes to
tests/screenshots/customer-review-files.png."""

from __future__ import annotations

import pytest

from deletions.models import DeletionRequest
from tests.browser import expect, screenshots, sign_in
from tests.factories import make_runs, use_file

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]

shot = screenshots("customer")


def test_the_requester_sees_the_files_and_chooses_to_erase_them(
    page, workspace, customer, other_customer, member
):
    mine = make_runs(workspace, customer, 3)
    theirs = make_runs(workspace, other_customer, 1, prefix="theirs_")
    use_file(mine[:2], "file_alone")
    use_file([mine[2], *theirs], "file_shared")

    sign_in(page, member)
    page.wait_for_url("**/runs/")
    page.check("[data-select-page]")
    page.click("button:has-text('Review deletion')")
    expect(page.locator("h1")).to_have_text("Delete 3 parse runs?")
    expect(page.locator("#files-preview")).to_have_text(
        "These runs use 2 uploaded files. If the documents are erased too, 1 would go and 1 "
        "would be kept: runs outside this selection still use it."
    )
    box = page.locator("#id_erase_files")
    expect(box).not_to_be_checked()  # the customer's default: keep them
    expect(page.locator("#erase-files-help")).to_contain_text(
        "GDPR erasure requests always erase the documents"
    )

    # A GDPR request erases them: the box is ticked and locked; unticking GDPR gives it back.
    page.check("#id_is_gdpr")
    expect(box).to_be_checked()
    expect(box).to_be_disabled()
    page.uncheck("#id_is_gdpr")
    expect(box).not_to_be_checked()
    expect(box).to_be_enabled()

    page.check("#id_erase_files")
    shot(page, "review-files")
    page.fill("#id_reason", "The contract with this client ended.")
    page.click("button:has-text('Request deletion of 3 runs')")

    req = DeletionRequest.objects.get()
    page.wait_for_url(f"**/requests/{req.pk}/")
    expect(page.locator("#request-files")).to_have_text("erased with the runs")
    assert req.erase_files
