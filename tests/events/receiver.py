"""A webhook receiver on loopback: a tiny ``http.server`` in a thread that records requests."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from blobstream.events import verify_signature


class Receiver:
    """Answers every POST with ``answer(body) -> (status, body)`` and keeps what came."""

    def __init__(self, secret: bytes | None = None) -> None:
        self.secret = secret
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.answer: Callable[[dict[str, Any]], tuple[int, bytes]] = lambda _: (200, b"")
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with receiver._lock:
                    receiver.received.append((dict(self.headers.items()), body))
                status, answer = receiver.answer(json.loads(body))
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join()

    def events(self) -> list[dict[str, Any]]:
        """Every event received with a valid signature, first delivery of each id only."""
        seen: set[str] = set()
        events = []
        with self._lock:
            received = list(self.received)
        for headers, body in received:
            if self.secret is not None:
                assert verify_signature(self.secret, headers, body), headers
            event = json.loads(body)
            if event["id"] not in seen:
                seen.add(event["id"])
                events.append(event)
        return events

    def wait_for(
        self, done: Callable[[list[dict[str, Any]]], bool], timeout: float = 20.0
    ) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while True:
            events = self.events()
            if done(events):
                return events
            if time.monotonic() > deadline:
                raise AssertionError(f"events not received in {timeout}s: {events}")
            time.sleep(0.05)
