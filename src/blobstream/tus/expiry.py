"""tus 1.0 expiration: a thread per worker deletes expired uploads, no operator needed.

Every process runs one; deleting is idempotent and a busy upload is skipped, so
several nodes on one store clean up together without stepping on each other.
Requests also check the expiry themselves (404/410), so a late sweep is harmless.
"""

from __future__ import annotations

import logging
import random
import threading

from blobstream.errors import BlobstreamError
from blobstream.tus.service import TusService

# Jitter from a generator of its own: background threads never move the global one.
_jitter = random.Random()

log = logging.getLogger("blobstream.tus")


class Sweeper:
    """Calls :meth:`TusService.remove_expired` every ``interval`` seconds until stopped."""

    def __init__(self, service: TusService, interval: float) -> None:
        self.service = service
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="blobstream-tus-expiry", daemon=True)

    def start(self) -> Sweeper:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        # Jitter keeps the workers of one server from sweeping in lockstep.
        while not self._stop.wait(self.interval * _jitter.uniform(0.8, 1.2)):
            try:
                removed = self.service.remove_expired()
            except BlobstreamError as exc:
                log.warning("expired uploads not removed this round: %s", exc.detail)
                continue
            except Exception:
                log.exception("expired uploads not removed this round")
                continue
            if removed:
                log.info("removed %d expired upload(s)", removed)
