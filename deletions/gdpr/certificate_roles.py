"""Who acted on a request, as a certificate of erasure names them: by role, never by username.

A certificate is handed to data subjects and third parties and kept for years; the people behind
a decision are in the audit trail, for those entitled to read it. The certificate only needs to
show that the right kind of person decided (four eyes: two different approvers on the staff).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from deletions.accounts import roles

if TYPE_CHECKING:
    from django.contrib.auth.models import User

OPERATOR_ADMIN = "operator admin"
OPERATOR_APPROVER = "operator approver"
OPERATOR_STAFF = "operator staff"
CUSTOMER_ADMIN = "customer admin"
CUSTOMER_MEMBER = "customer member"
DATA_SUBJECT = "data subject (public form)"


def approver_role(user: User) -> str:
    """The staff role of an approver, as it stands when the certificate is issued."""
    role = roles.staff_role_of(user)
    if role == roles.ADMIN or (not role and user.is_superuser):
        return OPERATOR_ADMIN
    if role == roles.APPROVER:
        return OPERATOR_APPROVER
    return OPERATOR_STAFF


def requester_role(user: User | None, *, from_public_form: bool) -> str | None:
    """Who filed the request: the data subject on the public form, a customer user (a service
    account counts as its customer's member), or operator staff on the subject's behalf."""
    if from_public_form:
        return DATA_SUBJECT
    if user is None:
        return None
    membership = roles.membership_of(user)
    if membership is not None:
        return CUSTOMER_ADMIN if membership.is_customer_admin else CUSTOMER_MEMBER
    return OPERATOR_STAFF
