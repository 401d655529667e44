"""The outbound URL policy: where the portal may send a request that carries a secret.

Two kinds of URL are entered by people and then called by the portal with a secret attached: a
workspace's base URL (every call carries its Extend API key) and a customer's notification URL
(every POST is signed with the customer's secret). Without a policy, an admin could point either
at the portal's own network (``http://127.0.0.1:…``, the cloud metadata service at
``169.254.169.254``, ``[::1]``) and have the portal send its secrets, or probe internal services.

The rule, for both kinds:

* The URL is ``https`` and *every* address its host resolves to is public (no private, loopback,
  link-local, multicast, reserved or unspecified address, nor an IPv6 form of one).
* Unless its host is listed in ``settings.OUTBOUND_ALLOWED_HOSTS``: those hosts are trusted as
  they are (any address, http allowed), for an on-premises Extend or the local simulator of
  ``make run`` and the tests. There is no switch that turns the policy off.

It is checked when a URL is saved (:func:`check_url`, a clear form error) and again when a
request is sent (:class:`PolicyAdapter`), because DNS can change in between: the adapter resolves
the host once, checks the addresses and connects to the checked address, keeping the host name
for TLS (SNI and certificate checks) and the ``Host`` header, the technique of Saleor's
``requests-hardened``. Redirects are never followed by the callers (``allow_redirects=False``),
so a public host cannot bounce a request to a private one.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter

if TYPE_CHECKING:
    from requests.adapters import _HostParams, _PoolKwargs

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Ranges that Python's ``is_global`` still calls global but that lead inside a network: IPv6
# forms that embed an IPv4 address (NAT64, 6to4, Teredo) and the 6to4 relay anycast.
NOT_PUBLIC_RANGES = tuple(
    ipaddress.ip_network(net)
    for net in (
        "64:ff9b::/96",
        "64:ff9b:1::/48",
        "2002::/16",
        "2001::/32",
        "192.88.99.0/24",
        "100.64.0.0/10",
    )
)


class OutboundURLRefused(requests.exceptions.InvalidURL):
    """The policy refuses this URL or the address its host resolves to: nothing was sent.

    An ``InvalidURL`` (a ``ValueError`` and a ``requests.RequestException``), so that clients
    which know nothing of this module still see a request that could not be sent. Raised from
    the adapter, requests wraps it in a plain ``InvalidURL`` with the same message: callers
    catch ``requests.exceptions.InvalidURL``.
    """


def allowed_hosts() -> frozenset[str]:
    """The hosts exempt from the policy, lower-case, IPv6 literals without brackets."""
    hosts: list[str] = settings.OUTBOUND_ALLOWED_HOSTS
    return frozenset(h.strip().strip("[]").lower() for h in hosts if h.strip())


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address *host* resolves to, in the resolver's order (tests replace this)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]


def address_problem(ip: IPAddress) -> str | None:
    """Why *ip* is not a public address, or None if it is."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return address_problem(ip.ipv4_mapped)
    for kind, flag in (
        ("an unspecified", ip.is_unspecified),
        ("a loopback", ip.is_loopback),
        ("a link-local", ip.is_link_local),
        ("a multicast", ip.is_multicast),
        ("a private", ip.is_private),
        ("a reserved", ip.is_reserved),
    ):
        if flag:
            return f"{ip} is {kind} address"
    if not ip.is_global or any(ip in net for net in NOT_PUBLIC_RANGES):
        return f"{ip} is not a public address"
    return None


def checked_addresses(scheme: str, host: str | None, port: int | None) -> list[IPAddress] | None:
    """Apply the policy to one destination.

    Returns None for an allowed host (connect to it by name, as it is), otherwise the host's
    addresses, all public; raises :class:`OutboundURLRefused` with the reason.
    """
    if not host:
        raise OutboundURLRefused("The URL has no host.")
    host = host.strip("[]").lower()
    if host in allowed_hosts():
        return None
    if scheme != "https":
        raise OutboundURLRefused(
            f"Use https: {host} is not listed in OUTBOUND_ALLOWED_HOSTS, so the portal "
            "sends secrets to it over https only."
        )
    try:
        addresses = resolve(host, port or 443)
    except (OSError, UnicodeError, ValueError):
        raise OutboundURLRefused(f"The host {host} could not be resolved.") from None
    if not addresses:
        raise OutboundURLRefused(f"The host {host} could not be resolved.")
    for ip in addresses:
        problem = address_problem(ip)
        if problem:
            raise OutboundURLRefused(
                f"{host} resolves to {problem}. The portal only calls public addresses, unless "
                "the host is listed in OUTBOUND_ALLOWED_HOSTS (for an on-premises Extend)."
            )
    return addresses


def check_url(url: str) -> None:
    """Check a URL before it is saved; raises :class:`OutboundURLRefused` with the reason."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise OutboundURLRefused("This is not a valid URL.") from None
    if parts.scheme not in ("http", "https"):
        raise OutboundURLRefused("The URL must start with https://.")
    checked_addresses(parts.scheme, parts.hostname, port)


class PolicyAdapter(HTTPAdapter):
    """A transport adapter that applies the policy to every connection it opens.

    It resolves the host, checks every address and pins the connection pool to the first one,
    so the address that was checked is the address connected to (a DNS answer that changes
    between the check and the connection cannot slip a private address in).
    """

    def build_connection_pool_key_attributes(
        self,
        request: requests.PreparedRequest,
        verify: bool | str,
        cert: str | tuple[str, str] | None = None,
    ) -> tuple[_HostParams, _PoolKwargs]:
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(
            request, verify, cert
        )
        host = host_params["host"]
        port: int | None = host_params["port"]  # None when the URL names no port
        addresses = checked_addresses(host_params["scheme"], host, port)
        if addresses is None:
            return host_params, pool_kwargs
        # The request still names the host: in its Host header, and for TLS, in SNI and in the
        # certificate check (never the pinned address).
        request.headers["Host"] = (f"[{host}]" if ":" in host else host) + (
            f":{port}" if port is not None else ""
        )
        if host_params["scheme"] == "https":
            # Keys of urllib3's HTTPSConnectionPool that the stubs do not list.
            pool_kwargs["assert_hostname"] = host  # type: ignore[typeddict-unknown-key]
            pool_kwargs["server_hostname"] = host  # type: ignore[typeddict-unknown-key]
        pinned = addresses[0]
        host_params["host"] = f"[{pinned}]" if pinned.version == 6 else str(pinned)
        return host_params, pool_kwargs


def session() -> requests.Session:
    """A session whose every request goes through the policy, with no hidden retries."""
    sess = requests.Session()
    adapter = PolicyAdapter(max_retries=0)
    sess.mount("https://", adapter)
    sess.mount("http://", adapter)
    return sess
