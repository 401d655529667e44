"""The public erasure flow in headless Chromium: the form, the e-mailed link, confirming with
POST, a reused and an expired link refused; then staff turn the intake into a request and the
certificate verify page checks a certificate, its JSON and its PDF. Screenshots go to
tests/screenshots/."""

from __future__ import annotations

import re

import pytest
from django.core import mail

from deletions.gdpr import certificate_checks
from deletions.models import DeletionRequest, ErasureIntake
from tests.browser import screenshots, sign_in
from tests.gdpr.conftest import SUBJECT
from tests.helpers import finish, submitted_request

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]

LINK = re.compile(r"https?://\S+/erasure/verify/\S+/")
shot = screenshots("gdpr")


def submit_form(page, customer, email: str) -> str:
    page.goto(f"/erasure/{customer.slug}/")
    page.get_by_label("Your e-mail address").fill(email)
    page.get_by_label("Your reference").fill(SUBJECT)
    page.get_by_role("button", name="Send my request").click()
    page.wait_for_selector("h1:has-text('Check your e-mail')")
    message = next(m for m in reversed(mail.outbox) if email in m.to)
    found = LINK.search(str(message.body))
    assert found is not None
    return found.group(0)


def test_a_data_subject_submits_and_confirms_by_the_emailed_link(page, customer, subject_runs):
    page.goto(f"/erasure/{customer.slug}/")
    shot(page, "public-form")
    page.get_by_role("button", name="Send my request").click()
    # The browser's own validation, or ours, keeps an empty form from going anywhere.
    assert ErasureIntake.objects.count() == 0

    link = submit_form(page, customer, "jane@example.org")
    shot(page, "public-sent")
    page.goto(link)
    assert page.locator("h1").inner_text() == "Confirm your erasure request"
    assert "••••7731" in page.content()
    shot(page, "public-confirm")
    assert ErasureIntake.objects.get().status == ErasureIntake.Status.AWAITING_VERIFICATION
    page.get_by_role("button", name="Confirm my request").click()
    page.wait_for_selector("h1:has-text('Your request is confirmed')")
    shot(page, "public-verified")
    assert ErasureIntake.objects.get().status == ErasureIntake.Status.VERIFIED

    page.goto(link)  # the same link again
    assert page.locator("h1").inner_text() == "This link has already been used"
    shot(page, "public-link-used")


def test_an_expired_link_is_refused_with_a_clear_page(page, customer, settings):
    link = submit_form(page, customer, "late@example.org")
    settings.GDPR_VERIFICATION_MAX_AGE_SECONDS = -1  # every link is now past its age
    page.goto(link)
    assert page.locator("h1").inner_text() == "This link has expired"
    assert "submit the form again" in page.locator(".msg").inner_text().lower()
    shot(page, "public-link-expired")
    assert ErasureIntake.objects.get().status == ErasureIntake.Status.AWAITING_VERIFICATION


def test_staff_freeze_a_confirmed_intake_and_verify_a_certificate(
    page, customer, subject_runs, approver, workspace, member, tmp_path
):
    link = submit_form(page, customer, "jane@example.org")
    page.goto(link)
    page.get_by_role("button", name="Confirm my request").click()
    page.wait_for_selector("h1:has-text('Your request is confirmed')")

    sign_in(page, approver)
    page.goto("/console/gdpr/intakes/?show=verified")
    page.click("table a:has-text('#')")
    # Mailbox control alone does not make a request: the customer confirms the person (here an
    # approver, on its behalf, with a reason).
    assert page.get_by_role("button", name="Preview").count() == 0
    page.get_by_label("Why you confirm on the customer's behalf").fill(
        "Acme's DPO confirmed the patient by phone."
    )
    page.get_by_role("button", name=re.compile("Confirm on .*'s behalf")).click()
    page.wait_for_selector(".msg-success")
    page.goto("/console/gdpr/intakes/")
    shot(page, "console-intakes")
    page.click("table a:has-text('#')")
    page.get_by_role("button", name="Preview").click()
    page.wait_for_selector("#preview")
    assert "3 parse runs" in page.locator("#preview").inner_text()
    shot(page, "console-intake-preview")
    page.get_by_role("button", name=re.compile("Freeze 3 runs")).click()
    page.wait_for_selector(".msg-success")
    req = DeletionRequest.objects.get(kind=DeletionRequest.Kind.GDPR)
    assert req.item_count == 3
    assert "d left" in page.content() or "days left" in page.content()

    done = finish(
        submitted_request(
            workspace, customer, member, prefix="cert_", kind="gdpr", subject_ref="X-1"
        )
    )
    page.goto(f"/console/requests/{done.pk}/")
    shot(page, "console-request-certificate")
    with page.expect_download() as info:
        page.get_by_role("link", name="Certificate (JSON)").click()
    path = tmp_path / "certificate.json"
    info.value.save_as(path)
    assert certificate_checks.verify(path.read_bytes()).valid

    page.goto("/certificates/verify/")
    page.set_input_files("#id_file", str(path))
    page.get_by_role("button", name="Check the certificate").click()
    assert "Valid" in page.locator("#verify-result").inner_text()
    shot(page, "certificate-valid")
    tampered = path.read_text().replace('"deleted": 3', '"deleted": 2', 1)
    page.fill("#id_document", tampered)
    page.get_by_role("button", name="Check the certificate").click()
    assert "Tampered" in page.locator("#verify-result").inner_text()
    shot(page, "certificate-tampered")


def test_a_downloaded_pdf_certificate_is_valid_on_the_verify_page(
    page, member, finished_request, tmp_path
):
    sign_in(page, member)
    page.goto(f"/requests/{finished_request.pk}/")
    with page.expect_download() as info:
        page.get_by_role("link", name="Certificate (PDF)").click()
    path = tmp_path / "certificate.pdf"
    info.value.save_as(path)

    page.goto("/certificates/verify/")
    page.set_input_files("#id_file", str(path))
    page.get_by_role("button", name="Check the certificate").click()
    result = page.locator("#verify-result").inner_text()
    assert f"Valid, version 1 of request #{finished_request.pk}." in result
    facts = page.locator("#verify-facts").inner_text()
    assert "The signed certificate attached to the PDF" in facts
    assert "(current)" in facts
    assert finished_request.customer.name in facts
    shot(page, "certificate-pdf-valid")

    path.write_bytes(b"%PDF-1.7\nnot really a pdf")
    page.set_input_files("#id_file", str(path))
    page.get_by_role("button", name="Check the certificate").click()
    assert "This PDF cannot be read" in page.locator("#verify-result").inner_text()
    shot(page, "certificate-pdf-unreadable")
