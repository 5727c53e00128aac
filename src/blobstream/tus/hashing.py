"""The SHA-256 of an upload, computed while its bytes arrive.

Each worker keeps, per upload, a SHA-256 state and the offset it covers. A
PATCH that starts where the cached state ends feeds the same state, so an
upload that arrives on one node in one go is hashed exactly once, on the way
in, and completing it needs no second read. The cache is only an
optimisation: upload state lives in the store, and when a PATCH lands on
another node or after a restart, the state there is missing or behind. Bytes
below a recorded offset never change, so completion then catches up by reading
the stored upload from the cached offset (or from 0) — a re-read of part or
all of the upload, which is the price of resuming elsewhere. A final
concatenation is always hashed from its parts (SHA-256 cannot be combined).
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from typing import Any

from blobstream.storage.protocol import UploadState, UploadStore


class HashCache:
    """Bounded LRU of ``upload id → (offset, sha256 state)`` for one process."""

    def __init__(self, capacity: int = 1024) -> None:
        self.capacity = capacity
        self._entries: OrderedDict[str, tuple[int, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def resume(self, upload_id: str, offset: int) -> Any | None:
        """A copy of the state covering exactly ``offset`` bytes, a new one at 0, or None."""
        if offset == 0:
            return hashlib.sha256()
        with self._lock:
            entry = self._entries.get(upload_id)
            if entry is None or entry[0] != offset:
                return None
            self._entries.move_to_end(upload_id)
            return entry[1].copy()

    def put(self, upload_id: str, offset: int, hasher: Any) -> None:
        with self._lock:
            self._entries[upload_id] = (offset, hasher)
            self._entries.move_to_end(upload_id)
            while len(self._entries) > self.capacity:
                self._entries.popitem(last=False)

    def forget(self, upload_id: str) -> None:
        with self._lock:
            self._entries.pop(upload_id, None)

    def sha256(self, store: UploadStore, state: UploadState) -> str:
        """The hex SHA-256 of the whole upload, reading only what the cache lacks."""
        start, hasher = 0, hashlib.sha256()
        if not state.parts:
            with self._lock:
                entry = self._entries.get(state.upload_id)
            if entry is not None and entry[0] <= state.offset:
                start, hasher = entry[0], entry[1].copy()
        if start < state.offset:
            for piece in store.read_upload(state.upload_id, start):
                hasher.update(piece)
        digest: str = hasher.hexdigest()
        return digest
