"""A local HTTP proxy in front of the live server that misbehaves on cue, so the client's retries
meet real network failures: an answer dropped after the server did the work, a 409 `try_again`,
a 429 with Retry-After, a 503, a 500. Everything else it forwards unchanged. It listens on a free
loopback port only, and `seen` records every request it got, in order."""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding"}


@dataclass
class Fault:
    method: str
    path: re.Pattern
    times: int
    drop: bool = False  # forward, let the server do the work, then close without answering
    status: int | None = None  # answer this instead of forwarding
    body: dict | None = None
    headers: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    body: dict | None


class FaultyProxy:
    def __init__(self, upstream: str):
        self.upstream = httpx.Client(base_url=upstream, timeout=30)
        self.faults: list[Fault] = []
        self.seen: list[Seen] = []
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def fail(
        self,
        method: str,
        path: str,
        *,
        times: int = 1,
        drop: bool = False,
        status: int | None = None,
        body: dict | None = None,
        headers: dict | None = None,
    ) -> None:
        """The next `times` requests of `method` to a path matching `path` (a regex, anchored)
        fail this way."""
        self.faults.append(
            Fault(method, re.compile(path + "$"), times, drop, status, body, headers or {})
        )

    def requests_to(self, method: str, path: str) -> list[Seen]:
        pattern = re.compile(path + "$")
        return [s for s in self.seen if s.method == method and pattern.match(s.path)]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.upstream.close()

    def _take_fault(self, method: str, path: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.times > 0 and fault.method == method and fault.path.match(path):
                    fault.times -= 1
                    return fault
        return None


def _handler(proxy: FaultyProxy):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):  # quiet: pytest shows failures, not every request
            pass

        def _handle(self):
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            path = self.path.split("?", 1)[0]
            with proxy.lock:
                proxy.seen.append(Seen(self.command, path, json.loads(raw) if raw else None))
            fault = proxy._take_fault(self.command, path)
            if fault is not None and fault.status is not None:
                self._answer(fault.status, json.dumps(fault.body or {}).encode(), fault.headers)
                return
            headers = {
                name: value
                for name, value in self.headers.items()
                if name.lower() not in HOP_BY_HOP | {"host"}
            }
            upstream = proxy.upstream.request(self.command, self.path, content=raw, headers=headers)
            if fault is not None and fault.drop:
                self.close_connection = True  # the work is done; the answer never arrives
                return
            kept = {k: v for k, v in upstream.headers.items() if k.lower() not in HOP_BY_HOP}
            self._answer(upstream.status_code, upstream.content, kept)

        def _answer(self, status: int, body: bytes, headers: dict):
            self.send_response(status)
            for name, value in headers.items():
                if name.lower() != "content-type":
                    self.send_header(name, value)
            self.send_header("Content-Type", headers.get("content-type", "application/json"))
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PUT = do_DELETE = _handle

    return Handler
