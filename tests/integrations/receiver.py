"""A local webhook receiver for the tests: records each request and answers as scripted."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    path: str
    headers: dict
    body: bytes


@dataclass
class Receiver:
    port: int = 0
    received: list[Received] = field(default_factory=list)
    # Each request takes the next answer: (status, delay in seconds, extra headers); the last
    # one repeats.
    answers: list[tuple[int, float, dict]] = field(default_factory=lambda: [(200, 0.0, {})])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"


def start_receiver() -> tuple[Receiver, ThreadingHTTPServer]:
    receiver = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (http.server's name)
            length = int(self.headers.get("content-length", 0))
            body = self.rfile.read(length)
            receiver.received.append(Received(self.path, dict(self.headers), body))
            index = min(len(receiver.received), len(receiver.answers)) - 1
            status, delay, extra = receiver.answers[index]
            if delay:
                time.sleep(delay)
            try:
                self.send_response(status)
                for name, value in extra.items():
                    self.send_header(name, value)
                self.send_header("content-length", "2")
                self.end_headers()
                self.wfile.write(b"ok")
            except (BrokenPipeError, ConnectionResetError):
                pass

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    receiver.port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return receiver, server
