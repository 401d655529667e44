"""Writing the audit trail. Callers are inside the transaction of the change they record.

An event recorded while a signed-in person's request is answered also keeps the address that
request came from (``deletions.core.client_address``), so the trail says where an action came from,
not only who did it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import models

from deletions.core import client_address
from deletions.models import AuditEvent, Customer, DeletionRequest, Source

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User

    Actor = User | AnonymousUser | None


def actor_label(actor: Actor) -> str:
    """How an actor is named in the trail, captured at the time of the event."""
    if actor is None or not actor.is_authenticated:
        return "system"
    return str(actor.get_username())


def record(
    action: str,
    *,
    obj: models.Model,
    actor: Actor,
    source: Source | str,
    request: DeletionRequest | None = None,
    customer: Customer | int | None = None,
    before: Any = None,
    after: Any = None,
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one audit event about *obj*."""
    if request is None and isinstance(obj, DeletionRequest):
        request = obj
    if customer is None and request is not None:
        customer = request.customer_id
    if customer is None and isinstance(obj, Customer):
        customer = obj.pk
    user_id = actor.pk if actor is not None and actor.is_authenticated else None
    return AuditEvent.objects.create(
        actor_id=user_id,
        actor_label=actor_label(actor),
        source=source,
        action=action,
        object_type=obj._meta.model_name or type(obj).__name__.lower(),
        object_id=str(obj.pk),
        request=request,
        customer_id=customer.pk if isinstance(customer, Customer) else customer,
        before=before,
        after=after,
        detail=detail or {},
        # Whose request it was, for a signed-in actor only: a data subject's address on the
        # public form is personal data the trail does not need to keep for years.
        client_address=client_address.current() if user_id is not None else None,
    )
