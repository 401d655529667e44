"""The public keys of certificates of erasure, published for anyone who verifies one.

No sign-in and nothing personal: the current key and every retired or revoked one, as JSON, at a
well-known address. Caches may keep it for an hour; a rotation shows within that time, and an
old key never leaves the list, so a cached copy never makes a genuine certificate fail.
"""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_safe

from deletions.gdpr import certificate_keys

MAX_AGE_SECONDS = 3600


@cache_control(public=True, max_age=MAX_AGE_SECONDS)
@require_safe
def published_keys(request: HttpRequest) -> JsonResponse:
    response = JsonResponse(certificate_keys.published(), json_dumps_params={"indent": 2})
    # Any site may fetch it from a browser: public keys are meant to be read by anyone.
    response["Access-Control-Allow-Origin"] = "*"
    return response
