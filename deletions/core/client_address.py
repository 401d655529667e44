"""The client's address, seen through the reverse proxies the operator trusts.

Behind nginx every request reaches gunicorn from the proxy, so ``REMOTE_ADDR`` is the proxy's
address for every client; the client's own is the entry the proxy appended to
``X-Forwarded-For``. Anyone can send that header too, so it is believed only when the request
comes from a trusted proxy (``TRUSTED_PROXY_NETWORKS``), and then only the entry appended by the
outermost of ``TRUSTED_PROXY_COUNT`` proxies is used: entries further left were written by the
client and are never read. With no proxy configured (the default) the address is
``REMOTE_ADDR``.

:func:`client_ip` is the one place that decides: django-axes calls it (``AXES_CLIENT_IP_CALLABLE``),
the public forms' limits key on it, and :class:`ClientAddressMiddleware` keeps it for the audit
records written while a request is answered (:func:`current`).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from contextvars import ContextVar
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from ipware.ip import get_client_ip

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

_current: ContextVar[str | None] = ContextVar("client_address", default=None)


@lru_cache(maxsize=8)
def _networks(spec: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(item, strict=False) for item in spec)


def _parse(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """*value* as an address, or None. Without an IPv6 zone (``%eth0``), which the database's
    address columns refuse; a dual-stack socket's ``::ffff:a.b.c.d`` as the IPv4 it is."""
    try:
        address = ipaddress.ip_address(value.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _from_trusted_proxy(remote_addr: str) -> bool:
    # gunicorn on a Unix socket gives no REMOTE_ADDR: only local processes allowed by the
    # socket's file permissions (the proxy) can connect there.
    if not remote_addr:
        return True
    address = _parse(remote_addr)
    return address is not None and any(
        address in net for net in _networks(tuple(settings.TRUSTED_PROXY_NETWORKS))
    )


def client_ip(request: HttpRequest) -> str | None:
    """The address of the client that sent *request*, or None if there is none to be had."""
    remote_addr = str(request.META.get("REMOTE_ADDR") or "")
    count: int = settings.TRUSTED_PROXY_COUNT
    if count and _from_trusted_proxy(remote_addr):
        # Each of the *count* proxies appends the address it was reached from; the last one's
        # own address is REMOTE_ADDR, so the client is the count-th entry from the right, which
        # django-ipware calls "count - 1 proxies in the header". Only X-Forwarded-For is read:
        # X-Real-IP, Client-IP and the CDN headers in ipware's default list are the client's
        # to write. "left-most" is the header's usual order (client first); not strict, so junk
        # the client put on the left is skipped, not fatal.
        found, _routable = get_client_ip(
            request,
            proxy_order="left-most",
            proxy_count=count - 1,
            request_header_order=["HTTP_X_FORWARDED_FOR"],
            strict=False,
            algorithm="modern",
        )
        address = _parse(found or "")
        if address is not None:
            return str(address)
    address = _parse(remote_addr)
    return str(address) if address is not None else None


def current() -> str | None:
    """The client address of the request being answered in this context (None outside one)."""
    return _current.get()


class ClientAddressMiddleware:
    """Remembers the client's address while a request is answered, for the audit trail."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = _current.set(client_ip(request))
        try:
            return self.get_response(request)
        finally:
            _current.reset(token)
