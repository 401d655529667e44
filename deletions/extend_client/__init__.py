"""A thin, typed client for Extend's parse-run endpoints.

It turns every HTTP outcome into either a typed result or a typed exception that keeps what the
rest of the portal needs to decide and to prove: the HTTP status, Extend's error ``code``, the
``x-extend-request-id`` and whether retrying can help. It deliberately does *not* retry (the
deletion engine owns the retry policy and the shared rate limit).

What lives here: ``regions`` (Extend's region URLs and the default API version, the one home of
both), ``credentials`` (where and as whom), ``errors`` (the typed failures and how an answer maps
to one), ``transport`` (the session: auth, headers, timeouts, an injectable adapter class, no
retries) and ``client`` (the calls). Import names from this package, not from its modules.

What it may import: ``requests`` and :mod:`deletions.core.bounded_json`, nothing of Django or the
rest of the portal, so the simulator's tests, benchmarks and scripts can use it as is.

Mapping of answers (see EXTEND_API.md):

======================================  =====================================================
answer                                  result
======================================  =====================================================
2xx                                     the parsed body (``Deleted`` for DELETE)
400, 422                                ``InvalidRequest``
401                                     ``Unauthorized``
402                                     ``PaymentRequired``
403                                     ``Forbidden``
404 with Extend's JSON error body       ``NotFound``
404 without it (proxy, wrong base URL)  ``Unexpected``: a 404 must only ever mean "this run is
                                        gone" when Extend itself said so
429                                     ``RateLimited`` with ``retry_after`` in seconds
408, 5xx, timeout, connection error     ``Transient`` (``status`` is None for network errors)
not sent: an invalid URL, or a          ``DestinationRefused`` (``status`` is None)
destination the session's adapter
refused (an outbound URL policy)
anything else                           ``Unexpected``
======================================  =====================================================
"""

from .client import (
    MAX_PAGE_SIZE,
    MAX_RUN_ID_LENGTH,
    PARSE_RUN_STATUSES,
    Deleted,
    ExtendClient,
    ParseRunPage,
    encode_run_id,
)
from .credentials import Credentials, key_hint
from .errors import (
    DEFAULT_RETRY_AFTER_SECONDS,
    MAX_RETRY_AFTER_SECONDS,
    DestinationRefused,
    ExtendError,
    Forbidden,
    InvalidRequest,
    NotFound,
    PaymentRequired,
    RateLimited,
    Transient,
    Unauthorized,
    Unexpected,
    UnexpectedSuccess,
    error_from_response,
    parse_retry_after,
)
from .regions import (
    DEFAULT_API_VERSION,
    EU1_BASE_URL,
    REGION_BASE_URLS,
    US2_BASE_URL,
    US_BASE_URL,
)

__all__ = [
    "DEFAULT_API_VERSION",
    "DEFAULT_RETRY_AFTER_SECONDS",
    "EU1_BASE_URL",
    "MAX_PAGE_SIZE",
    "MAX_RETRY_AFTER_SECONDS",
    "MAX_RUN_ID_LENGTH",
    "PARSE_RUN_STATUSES",
    "REGION_BASE_URLS",
    "US2_BASE_URL",
    "US_BASE_URL",
    "Credentials",
    "Deleted",
    "DestinationRefused",
    "ExtendClient",
    "ExtendError",
    "Forbidden",
    "InvalidRequest",
    "NotFound",
    "ParseRunPage",
    "PaymentRequired",
    "RateLimited",
    "Transient",
    "Unauthorized",
    "Unexpected",
    "UnexpectedSuccess",
    "encode_run_id",
    "error_from_response",
    "key_hint",
    "parse_retry_after",
]
