"""What every customer page shares: who may use them, the ownership helper, keyset pagination.

A customer user sees their customer's runs; a member sees only the requests they made, a
customer admin all of the customer's requests. Anything else is a 404, never a 403, so a URL
does not confirm that an object exists.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import wraps
from typing import Any, Generic, TypeVar

from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import F, Field, Model, Q, QuerySet
from django.http import Http404, HttpRequest
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404

from deletions.accounts.roles import membership_of
from deletions.core import bounded_json
from deletions.models import DeletionRequest, Membership

M = TypeVar("M", bound=Model)
# A cursor holds one sort value (a date, or a file name of up to 1,024 characters, escaped) and
# an id: this is more than that, and more than a URL can carry through gunicorn.
MAX_CURSOR_BYTES = 64 * 1024


class CustomerRequest(HttpRequest):
    """An HttpRequest from a signed-in customer user (for type checking only)."""

    user: User
    membership: Membership


R = TypeVar("R", bound=HttpResponseBase)


def customer_required(view: Callable[..., R]) -> Callable[..., R]:
    """Signed-in users with a customer membership only; others (staff included) get a 403.

    The view receives the request with ``request.membership`` set (a :class:`CustomerRequest`).
    """

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> R:
        membership = membership_of(request.user)
        if membership is None or not membership.customer.is_active:
            raise PermissionDenied("These pages are for customer users.")
        request.membership = membership  # type: ignore[attr-defined]
        return view(request, *args, **kwargs)

    return login_required(wrapper)


def customer_admin_required(view: Callable[..., R]) -> Callable[..., R]:
    """Customer admins only; members get a 403 (the page exists for them, they may not use it)."""

    @wraps(view)
    def wrapper(request: CustomerRequest, *args: Any, **kwargs: Any) -> R:
        if not request.membership.is_customer_admin:
            raise PermissionDenied("Only your organisation's admins can manage its users.")
        return view(request, *args, **kwargs)

    return customer_required(wrapper)


def visible_requests(request: CustomerRequest) -> QuerySet[DeletionRequest]:
    """The deletion requests this user may see: all of the customer's for admins, else their own."""
    membership = request.membership
    requests = DeletionRequest.objects.filter(customer_id=membership.customer_id)
    if not membership.is_customer_admin:
        requests = requests.filter(requested_by=request.user)
    return requests


def get_request_for_user(request: CustomerRequest, pk: int) -> DeletionRequest:
    """The ownership helper: load request *pk* if this user may see it, 404 otherwise."""
    return get_object_or_404(
        visible_requests(request).select_related("customer", "requested_by"), pk=pk
    )


# --- Keyset pagination: pages cost the same at row 100,000 as at row 1, and need no COUNT. ---

T = TypeVar("T")


@dataclass
class KeysetPage(Generic[T]):
    rows: list[T]
    next_cursor: str | None
    prev_cursor: str | None

    @property
    def has_other_pages(self) -> bool:
        return bool(self.next_cursor or self.prev_cursor)


def _encode(values: Sequence[Any]) -> str:
    raw = json.dumps([v.isoformat() if hasattr(v, "isoformat") else v for v in values])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode(cursor: str, model: type[Model], field: str) -> tuple[Any, int]:
    """The (value, id) in *cursor*; a malformed cursor is a 404 (it only comes from our links)."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        # A cursor is [value, id]; anything deeper is not one of ours (and must not recurse).
        value, pk = bounded_json.loads(raw, max_bytes=MAX_CURSOR_BYTES, max_depth=1)
        model_field = model._meta.get_field(field)
        assert isinstance(model_field, Field)
        value = None if value is None else model_field.to_python(value)
        return value, int(pk)
    except (ValueError, TypeError, binascii.Error, ValidationError) as exc:
        raise Http404("Bad page cursor.") from exc


def keyset_page(
    rows: QuerySet[M],
    *,
    field: str,
    descending: bool,
    after: str = "",
    before: str = "",
    size: int = 50,
) -> KeysetPage[M]:
    """One page of *rows* ordered by (*field*, id), both in one direction, NULLs last.

    *after* / *before* are cursors taken from a previous page's ``next_cursor`` /
    ``prev_cursor``. Each page is one query using the (field, id) order, fetching one row more
    than shown to know whether there is another page.
    """
    model = rows.model
    backwards = bool(before) and not after
    cursor = before if backwards else after
    # The comparison that moves forward in display order; going backwards flips it.
    forward = "lt" if descending else "gt"
    cmp = {"lt": "gt", "gt": "lt"}[forward] if backwards else forward
    if cursor:
        value, pk = _decode(cursor, model, field)
        if value is None:
            cond = Q(**{f"{field}__isnull": True, f"id__{cmp}": pk})
            if backwards:
                cond |= Q(**{f"{field}__isnull": False})
        else:
            cond = Q(**{f"{field}__{cmp}": value}) | Q(**{field: value, f"id__{cmp}": pk})
            if not backwards:
                cond |= Q(**{f"{field}__isnull": True})
        rows = rows.filter(cond)
    # Display order: NULLs last. Reading backwards reverses everything, so NULLs come first.
    nulls = {"nulls_first": True} if backwards else {"nulls_last": True}
    if descending != backwards:
        order = [F(field).desc(**nulls), F("id").desc()]
    else:
        order = [F(field).asc(**nulls), F("id").asc()]
    fetched = list(rows.order_by(*order)[: size + 1])
    more = len(fetched) > size
    shown = fetched[:size]
    if backwards:
        shown.reverse()

    def key(row: M) -> str:
        return _encode([getattr(row, field), row.pk])

    has_next = (more if not backwards else True) and bool(shown)
    has_prev = (more if backwards else bool(cursor)) and bool(shown)
    return KeysetPage(
        rows=shown,
        next_cursor=key(shown[-1]) if has_next else None,
        prev_cursor=key(shown[0]) if has_prev else None,
    )
