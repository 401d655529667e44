"""Idempotency keys: a client that retries a POST with the same key gets the first answer.

Only successful answers are kept (a refused request changed nothing, so trying it again is
safe). The key row is written in the same transaction as the work, so a crash leaves neither;
two concurrent calls with one key meet at the unique constraint (or at the runs the winner took)
and the loser replays the winner.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable

from django.db import IntegrityError, transaction
from drf_spectacular.utils import OpenApiParameter
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from deletions.api.errors import ApiError
from deletions.core.errors import DomainError
from deletions.models import ApiToken, IdempotencyKey

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
# What a key may be (as the OpenAPI schema says): printable ASCII, no space at either end.
KEY_PATTERN = rf"^[\x21-\x7e]([\x20-\x7e]{{0,{MAX_KEY_LENGTH - 2}}}[\x21-\x7e])?$"

PARAMETER = OpenApiParameter(
    HEADER,
    str,
    OpenApiParameter.HEADER,
    required=False,
    description=f"Any unique string of at most {MAX_KEY_LENGTH} printable ASCII characters: a "
    "retry with the same key and body gets the first answer; the same key with another body "
    "is refused (422).",
    pattern=KEY_PATTERN,
)


def request_hash(request: Request) -> str:
    """What makes two calls 'the same': method, path and the JSON body (key order ignored)."""
    body = json.dumps(request.data, sort_keys=True, separators=(",", ":"), default=str)
    raw = f"{request.method} {request.path}\n{body}"
    return hashlib.sha256(raw.encode()).hexdigest()


def _replay(stored: IdempotencyKey, digest: str) -> Response:
    if stored.request_hash != digest:
        raise ApiError(
            f"The {HEADER} {stored.key!r} was already used with a different request; "
            "use a new key for a new request.",
            status_code=status.HTTP_422_UNPROCESSABLE_ENTITY,
            code="idempotency_key_reused",
        )
    return Response(
        stored.response_body,
        status=stored.response_status,
        headers={"Idempotent-Replayed": "true"},
    )


def idempotent(request: Request, work: Callable[[], Response]) -> Response:
    """Run *work* once per (token, Idempotency-Key); replay its answer for the same request."""
    key = request.headers.get(HEADER)
    token = request.auth
    if key is None or not isinstance(token, ApiToken):
        return work()
    if not re.fullmatch(KEY_PATTERN, key):
        raise ApiError(
            f"The {HEADER} must be 1 to {MAX_KEY_LENGTH} printable ASCII characters, with no "
            "space at either end."
        )
    digest = request_hash(request)
    stored = IdempotencyKey.objects.filter(token=token, key=key).first()
    if stored is not None:
        return _replay(stored, digest)
    try:
        with transaction.atomic():
            response = work()
            if status.is_success(response.status_code):
                IdempotencyKey.objects.create(
                    token=token,
                    key=key,
                    request_hash=digest,
                    response_status=response.status_code,
                    response_body=json.loads(json.dumps(response.data, default=str)),
                )
    except (IntegrityError, DomainError):
        # A concurrent call with the same key may have won: its runs are taken (DomainError) or
        # its key row is there (IntegrityError). Then this call gets the winner's answer.
        stored = IdempotencyKey.objects.filter(token=token, key=key).first()
        if stored is None:
            raise
        return _replay(stored, digest)
    return response
