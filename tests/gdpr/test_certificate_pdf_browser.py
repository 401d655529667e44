"""In headless Chromium: a customer downloads the PDF certificate of a finished request, and the
public verify page checks that PDF (its attached signed JSON). Screenshots in tests/screenshots/."""

from __future__ import annotations

import pytest

from tests.browser import screenshots, sign_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]

shot = screenshots("certificate-pdf")


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
    shot(page, "valid")

    path.write_bytes(b"%PDF-1.7\nnot really a pdf")
    page.set_input_files("#id_file", str(path))
    page.get_by_role("button", name="Check the certificate").click()
    assert "This PDF cannot be read" in page.locator("#verify-result").inner_text()
    shot(page, "unreadable")
