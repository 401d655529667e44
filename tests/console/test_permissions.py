"""Every console URL, for every kind of user: enumerated from the URL patterns, so a new page
cannot be added without saying who may use it."""

from __future__ import annotations

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from deletions.views.console_auth import ADMINISTER, APPROVE, OPERATE, VIEW

# Who may use each console URL. A URL missing here fails test_every_console_url_is_listed.
REQUIRED = {
    "dashboard": VIEW,
    "queue": VIEW,
    "bulk": APPROVE,
    "request_detail": VIEW,
    "request_approve": APPROVE,
    "request_reject": APPROVE,
    "request_cancel": APPROVE,
    "request_pause": OPERATE,
    "request_resume": OPERATE,
    "request_retry": OPERATE,
    "workspace_list": VIEW,
    "workspace_create": ADMINISTER,
    "workspace_detail": VIEW,
    "workspace_edit": ADMINISTER,
    "workspace_secrets": ADMINISTER,
    "workspace_test": OPERATE,
    "workspace_pause": OPERATE,
    "workspace_resume": OPERATE,
    "workspace_sync": OPERATE,
    "organization_list": VIEW,
    "organization_create": ADMINISTER,
    "organization_detail": VIEW,
    "organization_edit": ADMINISTER,
    "customer_list": ADMINISTER,
    "customer_create": ADMINISTER,
    "customer_detail": ADMINISTER,
    "customer_edit": ADMINISTER,
    "customer_recipient_add": ADMINISTER,
    "recipient_remove": ADMINISTER,
    "request_recipient_informed": APPROVE,
    "staff_list": ADMINISTER,
    "staff_role": ADMINISTER,
    "audit_log": VIEW,
    "audit_export": VIEW,
    "request_extend": APPROVE,
    "request_deadline_pause": APPROVE,
    "request_deadline_resume": APPROVE,
    "request_certificate_json": VIEW,
    "request_certificate_pdf": VIEW,
    "intake_list": VIEW,
    "intake_detail": VIEW,
    "intake_dismiss": APPROVE,
    "intake_confirm": APPROVE,
    "intake_reveal": APPROVE,
    "gdpr_new": APPROVE,
    "register": VIEW,
    "register_csv": VIEW,
    "register_json": VIEW,
    "hold_list": VIEW,
    "hold_new": ADMINISTER,
    "hold_detail": VIEW,
    "hold_lift": ADMINISTER,
    "policy_list": VIEW,
    "policy_detail": VIEW,
    "policy_approve": APPROVE,
    "policy_reject": APPROVE,
    "policy_pause": OPERATE,
    "policy_resume": OPERATE,
    "retention_stop": OPERATE,
    "retention_restart": OPERATE,
}

# Certificates exist once a request has finished: the pending request has none yet.
NOT_FOUND_YET = {"request_certificate_json", "request_certificate_pdf"}

# Views that only accept POST answer GET with 405 once the permission check has passed.
POST_ONLY = {
    "bulk",
    "workspace_secrets",
    "workspace_test",
    "workspace_sync",
    "staff_role",
    "intake_dismiss",
    "intake_confirm",
    "intake_reveal",
    "customer_recipient_add",
    "recipient_remove",
    "request_recipient_informed",
}

ROLE_PERMS = {
    "viewer": {VIEW},
    "approver": {VIEW, APPROVE, OPERATE},
    "staff_admin": {VIEW, APPROVE, OPERATE, ADMINISTER},
}


def console_patterns() -> list[URLPattern]:
    """The console's own URL patterns (other engineers' included modules are tested by them)."""
    resolver = get_resolver()
    console = next(
        p
        for p in resolver.url_patterns
        if isinstance(p, URLResolver) and getattr(p, "namespace", None) == "console"
    )
    return [p for p in console.url_patterns if isinstance(p, URLPattern)]


def test_every_console_url_is_listed():
    names = {p.name for p in console_patterns()}
    assert names == set(REQUIRED)


def _url(name, objects):
    pattern = next(p for p in console_patterns() if p.name == name)
    if "pk" not in pattern.pattern.converters:
        return reverse(f"console:{name}")
    kind = name.split("_", 1)[0]
    return reverse(f"console:{name}", kwargs={"pk": objects[kind].pk})


@pytest.fixture
def objects(pending_request, workspace, customer, viewer, staff_admin, customer_admin):
    from deletions.models import ErasureIntake, LegalHold, Organization, Recipient, Source
    from deletions.policies import rules

    return {
        "organization": Organization.objects.create(name="Acme Extend org"),
        "hold": LegalHold.objects.create(
            scope=LegalHold.Scope.CUSTOMER,
            customer=customer,
            reason="r",
            reference="REF",
            placed_by=staff_admin,
        ),
        "intake": ErasureIntake.objects.create(
            customer=customer, email_hash="0" * 64, subject_ref_hash="1" * 64
        ),
        "recipient": Recipient.objects.create(
            customer=customer, name="Billing", contact="c", means="e-mail"
        ),
        "request": pending_request,
        "policy": rules.propose_policy(
            customer,
            rules.PolicyValues(name="Thirty days", reason="contract", older_than_days=30),
            actor=customer_admin,
            source=Source.WEB,
        ),
        "workspace": workspace,
        "customer": customer,
        "staff": viewer,
    }


@pytest.mark.parametrize("name", sorted(REQUIRED))
def test_anonymous_visitors_are_sent_to_the_login_page(name, objects, client):
    url = _url(name, objects)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    response = client.post(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("name", sorted(REQUIRED))
@pytest.mark.parametrize("who", ["member", "customer_admin", "outsider"])
def test_customer_users_get_403_everywhere(name, who, objects, client, request):
    client.force_login(request.getfixturevalue(who))
    url = _url(name, objects)
    assert client.get(url).status_code == 403
    assert client.post(url).status_code == 403


@pytest.mark.parametrize("name", sorted(REQUIRED))
@pytest.mark.parametrize("role", sorted(ROLE_PERMS))
def test_each_staff_role_reaches_exactly_its_pages(name, role, objects, client, request):
    client.force_login(request.getfixturevalue(role))
    response = client.get(_url(name, objects))
    allowed = REQUIRED[name] in ROLE_PERMS[role]
    expected = (
        403 if not allowed else 405 if name in POST_ONLY else 404 if name in NOT_FOUND_YET else 200
    )
    assert response.status_code == expected


@pytest.mark.parametrize("name", sorted(n for n, perm in REQUIRED.items() if perm != VIEW))
def test_a_viewer_cannot_post_any_action(name, objects, client, viewer):
    client.force_login(viewer)
    assert client.post(_url(name, objects)).status_code == 403


def test_an_inactive_staff_user_is_refused(client, staff_admin):
    staff_admin.is_active = False
    staff_admin.save()
    client.force_login(staff_admin)
    response = client.get(reverse("console:dashboard"))
    assert response.status_code in (302, 403)


def test_unknown_objects_answer_404(client, staff_admin, db):
    client.force_login(staff_admin)
    for name in ("request_detail", "workspace_detail", "customer_detail"):
        assert client.get(reverse(f"console:{name}", args=[999999])).status_code == 404
