"""A delivery thread per worker: claim due outbox entries, POST them, retry with backoff.

Backoff doubles from one second up to ``max_backoff``; an entry older than
``max_age`` is dropped with an error in the log (a receiver gone for a day).
"""

from __future__ import annotations

import logging
import random
import threading
import time
import urllib.error
import urllib.request

from blobstream.events.model import node_name, signed_headers
from blobstream.events.outbox import EventOutbox, OutboxEntry

# Jitter from a generator of its own: background threads never move the global one.
_jitter = random.Random()

log = logging.getLogger("blobstream.events")

LEASE = 60.0
BATCH = 50


def backoff(attempts: int, cap: float) -> float:
    """Seconds before attempt ``attempts + 1``: 1, 2, 4 … up to ``cap``, with jitter."""
    base: float = min(cap, 2.0 ** min(attempts, 30))
    return base * _jitter.uniform(0.8, 1.0)


def post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> int:
    """POST ``body``; the status, or 0 when the receiver could not be reached."""
    req = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:  # noqa: S310
            response.read(65536)
            return int(response.status)
    except urllib.error.HTTPError as exc:
        exc.close()
        return int(exc.code)
    except (OSError, ValueError) as exc:
        log.info("webhook %s not reached: %s", url, exc)
        return 0


class Deliverer:
    """Sends the outbox's entries until stopped; :meth:`wake` after an append."""

    def __init__(
        self,
        outbox: EventOutbox,
        secret: bytes | None,
        *,
        poll: float = 1.0,
        timeout: float = 10.0,
        max_backoff: float = 600.0,
        max_age: float = 86400.0,
    ) -> None:
        self.outbox = outbox
        self.secret = secret
        self.poll = poll
        self.timeout = timeout
        self.max_backoff = max_backoff
        self.max_age = max_age
        self.owner = node_name()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="blobstream-events", daemon=True)

    def start(self) -> Deliverer:
        self._thread.start()
        return self

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=self.timeout + 5)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                sent = self.deliver_once()
            except Exception:
                log.exception("event delivery failed this round")
                sent = 0
            if not sent:
                self._wake.wait(self.poll * _jitter.uniform(0.8, 1.2))
                self._wake.clear()

    def deliver_once(self) -> int:
        """Claim one batch and send it; how many entries were claimed."""
        entries = self.outbox.claim(self.owner, BATCH, LEASE)
        for entry in entries:
            if self._stop.is_set():
                break  # the leases run out and another worker takes them
            self._send(entry)
        return len(entries)

    def _send(self, entry: OutboxEntry) -> None:
        headers = signed_headers(self.secret, entry.body)
        headers["Blobstream-Event-Id"] = entry.event_id
        status = post(entry.url, entry.body, headers, self.timeout)
        if 200 <= status < 300:
            self.outbox.delivered(entry.seq)
            return
        if time.time() - entry.created > self.max_age:
            log.error(
                "event %s to %s dropped after %d attempts (last answer %s)",
                entry.event_id, entry.url, entry.attempts + 1, status or "none",
            )  # fmt: skip
            self.outbox.delivered(entry.seq)
            return
        delay = backoff(entry.attempts, self.max_backoff)
        log.info("event %s to %s: answer %s, retry in %.0fs", entry.event_id, entry.url,
                 status or "none", delay)  # fmt: skip
        self.outbox.retry_later(entry.seq, time.time() + delay)
