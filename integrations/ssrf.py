"""Where a webhook may be sent (issue 19.4): only HTTP(S) to a public address. Loopback, private,
link-local (cloud metadata at 169.254.169.254 among them), shared, multicast and reserved
addresses are refused — IPv4 written as IPv6 (::ffff:127.0.0.1) too — unless the host is listed
in WEBHOOK_ALLOWED_HOSTS (a receiver inside your network; the tests' local receiver). The name is
resolved once and the request goes to that address (pinned), so a DNS answer that changes
between the check and the connection can't send it elsewhere; redirects are never followed."""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

from config.errors import DomainError

METADATA_ADDRESSES = {
    ipaddress.ip_address("169.254.169.254"),
    ipaddress.ip_address("fd00:ec2::254"),
    ipaddress.ip_address("100.100.100.200"),
}


class UnsafeUrl(DomainError):
    code = "unsafe_url"


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str  # path and query, as sent
    address: str  # the pinned IP address

    @property
    def host_header(self) -> str:
        default = 443 if self.scheme == "https" else 80
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == default else f"{host}:{self.port}"


def _allowed_host(host: str, port: int) -> bool:
    listed = {entry.lower() for entry in settings.WEBHOOK_ALLOWED_HOSTS}
    return host.lower() in listed or f"{host.lower()}:{port}" in listed


def _refused_reason(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    if getattr(address, "ipv4_mapped", None) is not None:
        address = address.ipv4_mapped
    if address in METADATA_ADDRESSES:
        return "a cloud metadata address"
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_private:
        return "a private address"
    if not address.is_global:
        return "not a public address"
    return ""


def url_target(url: str, *, resolve=socket.getaddrinfo) -> Target:
    """Check `url` and resolve it to the one address the request will go to."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise UnsafeUrl("That is not a URL.") from None
    if parts.scheme not in ("http", "https"):
        raise UnsafeUrl("A webhook URL starts with https:// (or http://).")
    if not parts.hostname:
        raise UnsafeUrl("A webhook URL names a host.")
    if parts.username or parts.password:
        raise UnsafeUrl("A webhook URL carries no user name or password.")
    host = parts.hostname
    port = port or (443 if parts.scheme == "https" else 80)
    try:
        infos = resolve(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, OSError):
        raise UnsafeUrl(f"{host} does not resolve to an address.") from None
    addresses = []
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%")[0])
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise UnsafeUrl(f"{host} does not resolve to an address.")
    if not _allowed_host(host, port):
        # Every address it resolves to must be public: one private answer among public ones is
        # how DNS rebinding gets in.
        for address in addresses:
            reason = _refused_reason(address)
            if reason:
                raise UnsafeUrl(
                    f"{host} resolves to {address}, {reason}: webhooks go to public addresses "
                    "only (an administrator may allow a host with WEBHOOK_ALLOWED_HOSTS)."
                )
    path = parts.path or "/"
    if parts.query:
        path += f"?{parts.query}"
    pinned = addresses[0]
    if getattr(pinned, "ipv4_mapped", None) is not None:
        pinned = pinned.ipv4_mapped
    return Target(parts.scheme, host, port, path, str(pinned))
