"""Approving or rejecting several requests at once (staff approvers and admins), as the
console's queue does: through :mod:`deletions.requests.bulk_decisions`, each request on its own
under every rule (four eyes, states), with source ``api``. With ``dry_run`` it says what each
decision would do and changes nothing (the console's confirmation page)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from deletions.api.idempotency import idempotent
from deletions.api.serializers import PK_MAX
from deletions.api.staff_base import (
    IDEMPOTENCY_PARAMETER,
    WRITE_ERRORS,
    CanApprove,
    Flag,
    Text,
    Whole,
    checked_body,
    person,
)
from deletions.api.views import ApiView, _errors
from deletions.models import Source
from deletions.requests import bulk_decisions
from deletions.requests.grounds import RefusalGround


class BulkSerializer(serializers.Serializer[Any]):
    action = serializers.ChoiceField(choices=bulk_decisions.ACTIONS)
    ids = serializers.ListField(
        child=Whole(min_value=1, max_value=PK_MAX),
        min_length=1,
        max_length=bulk_decisions.MAX_REQUESTS,
        help_text="Request ids; unknown ones are left out of the answer.",
    )
    reason = Text(
        max_length=2000,
        required=False,
        allow_blank=True,
        help_text="Required to reject: every requester is told it.",
    )
    comment = Text(
        max_length=2000, required=False, allow_blank=True, help_text="Kept with each approval."
    )
    ground = serializers.ChoiceField(
        choices=RefusalGround.choices,
        required=False,
        help_text="To reject GDPR erasure requests: their ground (Art. 17(3)(a)-(e), or an "
        "identity not verified). Given to the GDPR requests only; a GDPR request rejected "
        "without one is refused on its own.",
    )
    dry_run = Flag(default=False, help_text="Say what each decision would do; change nothing.")


class BulkResultSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField(source="request.pk")
    ok = Flag()
    message = Text()


class BulkAnswerSerializer(serializers.Serializer[Any]):
    dry_run = Flag()
    succeeded = serializers.IntegerField(help_text="How many were (or would be) decided.")
    results = BulkResultSerializer(many=True)


class Bulk(ApiView):
    permission_classes = [CanApprove]

    @extend_schema(
        operation_id="decide_requests",
        summary="Approve or reject several requests (staff approvers and admins)",
        description="Each request is decided on its own; one refusal (your own request, a "
        "state that does not allow it) does not stop the others, and each result says what "
        "happened.",
        request=BulkSerializer,
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={200: BulkAnswerSerializer, **_errors(*WRITE_ERRORS)},
    )
    def post(self, request: Request) -> Response:
        def work() -> Response:
            data = checked_body(request, BulkSerializer)
            user = person(request)
            reqs = bulk_decisions.load(data["ids"])
            if data["dry_run"]:
                outcomes = [bulk_decisions.preview(req, user, data["action"]) for req in reqs]
            else:
                outcomes = bulk_decisions.decide(
                    reqs,
                    data["action"],
                    actor=user,
                    source=Source.API,
                    reason=data.get("reason", ""),
                    comment=data.get("comment", ""),
                    ground=data.get("ground", ""),
                )
            body = {
                "dry_run": data["dry_run"],
                "succeeded": sum(o.ok for o in outcomes),
                "results": BulkResultSerializer(outcomes, many=True).data,
            }
            return Response(body)

        return idempotent(request, work)
