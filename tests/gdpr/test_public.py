"""The public erasure form: intake, e-mail verification, throttling, no leaks, expiry."""

from __future__ import annotations

import re

import time_machine
from django.core import mail
from django.db import connection
from django.urls import reverse

from deletions.gdpr import intake
from deletions.models import AuditEvent, DeletionRequest, ErasureIntake, ParseRun, Source
from tests import drive
from tests.gdpr.conftest import SUBJECT
from tests.gdpr.intakes import confirm
from tests.helpers import submitted_request

LINK = re.compile(r"https?://\S+/erasure/verify/\S+/")


def submit(
    client, customer, *, email="jane@example.org", reference=SUBJECT, ip="198.51.100.7", **extra
):
    return client.post(
        reverse("public:form", args=[customer.slug]),
        {"email": email, "reference": reference},
        REMOTE_ADDR=ip,
        **extra,
    )


def link_path(message) -> str:
    url = LINK.search(str(message.body)).group(0)
    return url.split("://", 1)[1].split("/", 1)[1].join(["/", ""])


def test_erasure_alone_explains_where_the_forms_are_and_names_no_customer(client, customer):
    response = client.get("/erasure/")
    body = response.content.decode()
    assert response.status_code == 200
    assert "Each company that uses" in body and "/erasure/&lt;company&gt;/" in body
    assert customer.name not in body and customer.slug not in body


def test_the_customers_requests_page_gives_its_public_form_address(client, customer, member):
    client.force_login(member)
    body = client.get(reverse("customer:requests")).content.decode()
    address = f"http://testserver/erasure/{customer.slug}/"
    assert f'<a href="{address}"><code>{address}</code></a>' in body
    # The address is the form's: it opens without sign-in.
    client.logout()
    assert client.get(address).status_code == 200


def test_the_form_shows_without_sign_in(client, customer):
    response = client.get(reverse("public:form", args=[customer.slug]))
    assert response.status_code == 200
    assert f"Ask {customer.name} to erase your data" in response.content.decode()


def test_an_unknown_or_inactive_customer_is_404(client, customer):
    assert client.get(reverse("public:form", args=["no-such-customer"])).status_code == 404
    customer.is_active = False
    customer.save()
    assert client.get(reverse("public:form", args=[customer.slug])).status_code == 404


def test_a_submission_stores_a_pseudonymised_intake_and_sends_the_link(client, customer):
    response = submit(client, customer)
    assert response.status_code == 302
    assert response["Location"] == reverse("public:sent", args=[customer.slug])
    found = ErasureIntake.objects.get()
    assert found.status == ErasureIntake.Status.AWAITING_VERIFICATION
    assert found.subject_ref_hash == intake.subject_hash(SUBJECT)
    assert found.subject_ref_hint == "••••7731"
    assert found.email_hint == "j••••@example.org"
    assert "jane@example.org" not in found.email_encrypted
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["jane@example.org"]
    assert LINK.search(str(mail.outbox[0].body))
    assert AuditEvent.objects.filter(action="intake.received", source=Source.PUBLIC).exists()


def test_form_errors_are_shown_and_nothing_is_stored(client, customer):
    response = submit(client, customer, email="not-an-address", reference="")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Enter a valid email address" in page
    assert "This field is required" in page
    assert not ErasureIntake.objects.exists()


def test_the_answer_is_the_same_whether_or_not_the_reference_matches_data(
    client, customer, subject_runs
):
    known = submit(client, customer, reference=SUBJECT, email="a@example.org")
    unknown = submit(client, customer, reference="NOBODY-0000", email="b@example.org")
    assert known.status_code == unknown.status_code == 302
    assert known["Location"] == unknown["Location"]
    known_page = client.get(known["Location"]).content
    unknown_page = client.get(unknown["Location"]).content
    strip = re.compile(rb'name="csrfmiddlewaretoken" value="[^"]+"|nonce="[^"]+"')
    assert strip.sub(b"", known_page) == strip.sub(b"", unknown_page)
    bodies = [LINK.sub("LINK", str(m.body)) for m in mail.outbox]
    assert bodies[0] == bodies[1]
    assert ErasureIntake.objects.count() == 2


def test_the_link_confirms_only_on_post_and_only_once(client, customer):
    submit(client, customer)
    path = link_path(mail.outbox[0])
    page = client.get(path)
    assert page.status_code == 200
    assert "Confirm my request" in page.content.decode()
    assert ErasureIntake.objects.get().status == ErasureIntake.Status.AWAITING_VERIFICATION
    done = client.post(path)
    assert done.status_code == 200
    assert "Your request is confirmed" in done.content.decode()
    found = ErasureIntake.objects.get()
    assert found.status == ErasureIntake.Status.VERIFIED
    assert found.verified_at is not None
    again = client.post(path)
    assert again.status_code == 410
    assert "already been used" in again.content.decode()
    assert client.get(path).status_code == 410


def test_an_expired_link_is_refused_with_a_clear_page(client, customer, settings):
    with time_machine.travel("2027-05-01 10:00Z"):
        submit(client, customer)
    path = link_path(mail.outbox[0])
    with time_machine.travel("2027-05-04 10:00Z"):
        response = client.post(path)
    assert response.status_code == 410
    assert "This link has expired" in response.content.decode()
    assert ErasureIntake.objects.get().status == ErasureIntake.Status.AWAITING_VERIFICATION


def test_a_forged_link_is_refused(client, customer):
    submit(client, customer)
    path = link_path(mail.outbox[0])
    forged = path[:-3] + ("A" if path[-3] != "A" else "B") + path[-2:]
    response = client.post(forged)
    assert response.status_code == 400
    assert "This link is not valid" in response.content.decode()


def test_submissions_are_throttled_per_address(client, customer, settings):
    settings.GDPR_INTAKE_LIMIT_PER_EMAIL = 2
    for n in range(2):
        assert submit(client, customer, ip=f"203.0.113.{n}").status_code == 302
    response = submit(client, customer, ip="203.0.113.99")
    assert response.status_code == 429
    assert "Too many requests" in response.content.decode()
    assert response["Retry-After"] == "3600"
    assert ErasureIntake.objects.count() == 2
    assert submit(client, customer, email="other@example.org").status_code == 302


def test_submissions_are_throttled_per_ip_address(client, customer, settings):
    settings.GDPR_INTAKE_LIMIT_PER_IP = 3
    for n in range(3):
        assert submit(client, customer, email=f"p{n}@example.org").status_code == 302
    assert submit(client, customer, email="p9@example.org").status_code == 429
    assert submit(client, customer, email="p9@example.org", ip="192.0.2.1").status_code == 302


def test_invalid_submissions_do_not_use_up_the_limit(client, customer, settings):
    for _ in range(settings.GDPR_INTAKE_LIMIT_PER_IP + 5):
        response = submit(client, customer, email="not an address")
        assert response.status_code == 200
        assert "Enter a valid email address" in response.content.decode()
    assert submit(client, customer).status_code == 302


def test_behind_the_proxy_one_clients_submissions_do_not_close_the_form_for_another(
    client, customer, settings
):
    settings.TRUSTED_PROXY_COUNT = 1
    settings.GDPR_INTAKE_LIMIT_PER_IP = 3
    # Every request reaches the portal from nginx on 127.0.0.1; it appends the client's address.
    for n in range(3):
        sent = submit(
            client,
            customer,
            email=f"p{n}@example.org",
            ip="127.0.0.1",
            HTTP_X_FORWARDED_FOR="203.0.113.66",
        )
        assert sent.status_code == 302
    first_client = submit(
        client,
        customer,
        email="p8@example.org",
        ip="127.0.0.1",
        HTTP_X_FORWARDED_FOR="203.0.113.66",
    )
    assert first_client.status_code == 429
    other_client = submit(
        client, customer, email="p9@example.org", ip="127.0.0.1", HTTP_X_FORWARDED_FOR="192.0.2.1"
    )
    assert other_client.status_code == 302


def test_unverified_intakes_and_requests_expire_after_a_week(workspace, customer, member):
    with time_machine.travel("2027-05-01 10:00Z"):
        old = intake.create_intake(customer, email="a@example.org", reference="R-1")
        waiting = submitted_request(workspace, customer, member, awaiting_verification=True)
    with time_machine.travel("2027-05-07 10:00Z"):
        fresh = intake.create_intake(customer, email="b@example.org", reference="R-2")
        assert intake.expire_unverified() == 0
    with time_machine.travel("2027-05-08 11:00Z"):
        assert intake.expire_unverified() == 2
    old.refresh_from_db()
    fresh.refresh_from_db()
    waiting.refresh_from_db()
    assert old.status == ErasureIntake.Status.EXPIRED
    assert old.email_encrypted == "" and old.subject_ref_encrypted == ""
    assert fresh.status == ErasureIntake.Status.AWAITING_VERIFICATION
    assert waiting.status == DeletionRequest.Status.EXPIRED


def test_the_verification_link_of_an_expired_intake_says_so(client, customer):
    with time_machine.travel("2027-05-01 10:00Z"):
        submit(client, customer)
    ErasureIntake.objects.update(status=ErasureIntake.Status.EXPIRED)
    with time_machine.travel("2027-05-01 11:00Z"):
        response = client.get(link_path(mail.outbox[0]))
    assert response.status_code == 410
    assert "expired" in response.content.decode()


def text_columns_containing(value: str) -> list[str]:
    """Every text column of every table that holds *value* anywhere (case-insensitive)."""
    hits = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            for column in connection.introspection.get_table_description(cursor, table):
                kind = connection.introspection.get_field_type(column.type_code, column)
                if kind not in ("CharField", "TextField", "JSONField", "SlugField", "EmailField"):
                    continue
                q = connection.ops.quote_name
                # Table and column names come from the introspection, quoted.
                sql = f"SELECT COUNT(*) FROM {q(table)} WHERE LOWER(CAST({q(column.name)} AS TEXT))"  # noqa: S608
                cursor.execute(sql + " LIKE %s", [f"%{value.lower()}%"])
                if cursor.fetchone()[0]:
                    hits.append(f"{table}.{column.name}")
    return hits


def test_no_subject_reference_is_stored_in_clear_after_the_whole_flow(
    client, customer, subject_runs, approver, second_approver
):
    submit(client, customer, email="jane.sentinel@example.org")
    client.post(link_path(mail.outbox[0]))
    found = confirm(ErasureIntake.objects.get())
    req = intake.freeze_intake(
        found, run_ids=[], reason="Art. 17", actor=approver, source=Source.WEB
    )
    assert req.item_count == 3
    drive.approve(req, second_approver)
    drive.start(req)
    drive.complete(req, 3)
    req = drive.finish(req)
    assert req.status == DeletionRequest.Status.COMPLETED
    # Nothing at all holds the reference or the address in clear, the erased runs included:
    # their tombstones keep the reference as the request's keyed hash, and no metadata.
    assert text_columns_containing(SUBJECT) == []
    assert text_columns_containing("jane.sentinel") == []
    tombstones = ParseRun.objects.filter(run_id__in=subject_runs)
    assert {(t.state, t.subject_ref_hash) for t in tombstones} == {
        (ParseRun.State.DELETED, req.subject_ref_hash)
    }
    # The other runs are not erased: the customer's own metadata stays as Extend has it.
    assert ParseRun.objects.filter(metadata__subject_ref="someone-else").count() == 2
