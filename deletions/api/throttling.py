"""Requests per minute per token, counted in the cache (shared by every web process)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from deletions.core.client_address import client_ip
from deletions.models import ApiToken

if TYPE_CHECKING:
    from rest_framework.views import APIView


class TokenRateThrottle(SimpleRateThrottle):
    """``API_RATE_LIMIT_PER_MINUTE`` per token; calls without one are counted per client address."""

    scope = "api"

    def get_rate(self) -> str:
        return f"{settings.API_RATE_LIMIT_PER_MINUTE}/min"

    def get_cache_key(self, request: Request, view: APIView) -> str:
        if isinstance(request.auth, ApiToken):
            ident = f"token:{request.auth.pk}"
        else:
            # Not DRF's get_ident, which believes any X-Forwarded-For: the trusted proxies decide.
            ident = f"ip:{client_ip(request._request)}"
        return f"api-throttle:{ident}"

    def allow_request(self, request: Request, view: APIView) -> bool:
        # The rate is read per call so that settings changes (and tests) take effect.
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)
