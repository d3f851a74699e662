"""The address a request came from, for login throttling and rate limits.

Behind `PROXY_COUNT` reverse proxies (the load balancer, nginx …), each of which appends the
address it received the connection from to `X-Forwarded-For`, the client is the PROXY_COUNT-th
address from the right of the chain "X-Forwarded-For, REMOTE_ADDR". Everything to the left of
it was written by the client and is ignored, so a spoofed header gains nothing. With no proxy
(PROXY_COUNT = 0, the default) the header is ignored altogether and REMOTE_ADDR is the client.

django-ipware reads the chain; its `proxy_count` counts the proxies inside the chain, which is
why REMOTE_ADDR (the nearest proxy) is appended to the header before asking it.

Imports no app of the project.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from ipware import get_client_ip

UNKNOWN = "0.0.0.0"


def client_address(request: HttpRequest) -> str:
    meta = request.META
    remote = meta.get("REMOTE_ADDR") or UNKNOWN
    proxies = settings.PROXY_COUNT
    if proxies <= 0:
        address, _ = get_client_ip(request, request_header_order=["REMOTE_ADDR"])
        return address or remote
    forwarded = meta.get("HTTP_X_FORWARDED_FOR", "")
    chain = f"{forwarded}, {remote}" if forwarded.strip() else remote

    class _Chain:  # what ipware reads: only the header we built
        META = {"HTTP_X_FORWARDED_FOR": chain}

    address, _ = get_client_ip(
        _Chain,
        proxy_order="left-most",  # ipware: chain[-(proxy_count + 1)]
        proxy_count=proxies,
        request_header_order=["HTTP_X_FORWARDED_FOR"],
        strict=False,
    )
    # Fewer hops than proxies: the request did not come through them (a direct hit on the
    # node); the peer that connected is all we know.
    return address or remote
