"""One pooled HTTP session to one Extend base URL: auth, headers, timeouts, and no retries.

Every way a call can fail before an answer arrives becomes a typed ``ExtendError``; a non-2xx
answer becomes one through :func:`.errors.error_from_response`. Only a 2xx comes back.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Final

import requests
import requests.auth
from requests.adapters import HTTPAdapter

from .credentials import Credentials, key_hint
from .errors import (
    DestinationRefused,
    Transient,
    Unexpected,
    error_from_response,
    request_id_of,
)

logger = logging.getLogger(__name__)

_USER_AGENT: Final = "parse-run-deletion-portal/0.1 (+requests)"


class _BearerAuth(requests.auth.AuthBase):
    """Adds the bearer key to each request; its repr shows only a hint of the key."""

    def __init__(self, api_key: str) -> None:
        self._api_key = api_key

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self._api_key}"
        return request

    def __repr__(self) -> str:
        return f"_BearerAuth({key_hint(self._api_key)!r})"


class Transport:
    """Sends one request at a time for one set of credentials; never retries."""

    def __init__(
        self,
        credentials: Credentials,
        *,
        connect_timeout: float,
        read_timeout: float,
        session: requests.Session | None,
        pool_size: int,
        adapter_class: type[HTTPAdapter],
    ) -> None:
        self.timeout = (connect_timeout, read_timeout)
        self._owns_session = session is None
        if session is None:
            session = requests.Session()
            # max_retries=0: no hidden retries, in particular never a second DELETE.
            # adapter_class lets a caller check every destination before connecting (the
            # portal's outbound URL policy) without this module knowing the policy.
            adapter = adapter_class(pool_connections=4, pool_maxsize=pool_size, max_retries=0)
            session.mount("https://", adapter)
            session.mount("http://", adapter)
        self.session = session
        # Sent as per-request auth, so requests never swaps in ~/.netrc credentials for ours.
        self._auth = _BearerAuth(credentials.api_key)
        self._base_url = credentials.base_url.rstrip("/")
        self._headers = {
            "x-extend-api-version": credentials.api_version,
            "Accept": "application/json",
            "User-Agent": _USER_AGENT,
        }
        if credentials.workspace_id:
            self._headers["x-extend-workspace-id"] = credentials.workspace_id

    def close(self) -> None:
        """Close pooled connections if this transport created the session."""
        if self._owns_session:
            self.session.close()

    def request(
        self, method: str, path: str, *, params: Mapping[str, str | int] | None = None
    ) -> requests.Response:
        """Send one request; return a 2xx answer or raise the matching ``ExtendError``."""
        url = self._base_url + path
        started = time.monotonic()
        try:
            response = self.session.request(
                method,
                url,
                params=params,
                headers=dict(self._headers),
                auth=self._auth,
                timeout=self.timeout,
                allow_redirects=False,
            )
        except requests.ConnectTimeout as exc:
            raise Transient(f"connect timeout: {_safe(exc)}") from None
        except requests.ReadTimeout as exc:
            raise Transient(f"read timeout: {_safe(exc)}") from None
        except requests.exceptions.InvalidURL as exc:
            raise DestinationRefused(_safe(exc)) from None
        except requests.exceptions.SSLError as exc:
            # A certificate problem is configuration, not bad luck: do not retry blindly.
            raise Unexpected(f"TLS error: {_safe(exc)}") from None
        except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
            raise Transient(f"connection error: {_safe(exc)}") from None
        except requests.RequestException as exc:
            raise Unexpected(f"request failed: {_safe(exc)}") from None
        # Only method, path, status and request id: never headers, never the key.
        logger.debug(
            "extend %s %s -> %s in %.0f ms (request %s)",
            method,
            path,
            response.status_code,
            (time.monotonic() - started) * 1000,
            request_id_of(response),
        )
        if 200 <= response.status_code < 300:
            return response
        raise error_from_response(response)


def _safe(exc: BaseException) -> str:
    """Describe a transport error without anything that could echo request headers."""
    return type(exc).__name__ if not str(exc) else str(exc).splitlines()[0][:300]
