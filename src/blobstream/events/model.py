"""What an event is, how its body looks and how a webhook request is signed.

The body is JSON; the signature is HMAC-SHA256 with the server's
``BLOBSTREAM_SECRET`` over ``<timestamp>.<body>``, sent as
``Blobstream-Signature: sha256=<hex>`` next to ``Blobstream-Timestamp`` (the
timestamp is signed too, so a receiver can refuse an old request replayed).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import socket
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from blobstream.storage.protocol import BlobInfo
from blobstream.timestamps import format_iso

EVENTS = ("upload.created", "upload.progress", "blob.committed", "blob.deleted", "upload.expired")
SIGNATURE_HEADER = "Blobstream-Signature"
TIMESTAMP_HEADER = "Blobstream-Timestamp"


def node_name() -> str:
    """``hostname:pid`` of this worker: which process saw the event."""
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True)
class Event:
    """One event; ``id`` is unique, so a receiver dedupes at-least-once deliveries by it."""

    event: str
    key: str
    size: int | None = None
    sha256: str | None = None
    etag: str | None = None
    content_type: str | None = None
    request_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    time: float = field(default_factory=time.time)
    node: str = field(default_factory=node_name)

    @classmethod
    def of_blob(cls, kind: str, info: BlobInfo, request_id: str | None) -> Event:
        return cls(
            event=kind,
            key=info.key,
            size=info.size,
            sha256=info.sha256,
            etag=f'"{info.etag}"',
            content_type=info.content_type,
            request_id=request_id,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "event": self.event,
            "id": self.id,
            "time": format_iso(self.time),
            "key": self.key,
            "size": self.size,
            "sha256": self.sha256,
            "etag": self.etag,
            "content_type": self.content_type,
            "node": self.node,
            "request_id": self.request_id,
            **self.extra,
        }

    def body(self) -> bytes:
        return json.dumps(self.to_json(), separators=(",", ":")).encode()


def signature(secret: bytes, timestamp: str, body: bytes) -> str:
    """``sha256=<hex>`` of HMAC-SHA256 over ``<timestamp>.<body>``."""
    mac = hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def signed_headers(secret: bytes | None, body: bytes, now: float | None = None) -> dict[str, str]:
    """The headers of a webhook request carrying ``body``."""
    timestamp = str(int(time.time() if now is None else now))
    headers = {"Content-Type": "application/json", TIMESTAMP_HEADER: timestamp}
    if secret:
        headers[SIGNATURE_HEADER] = signature(secret, timestamp, body)
    return headers


def verify_signature(secret: bytes, headers: Any, body: bytes, tolerance: float = 300) -> bool:
    """What a receiver does: recompute the signature and check the timestamp is recent."""
    timestamp = headers.get(TIMESTAMP_HEADER) or ""
    sent = headers.get(SIGNATURE_HEADER) or ""
    if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > tolerance:
        return False
    return hmac.compare_digest(sent, signature(secret, timestamp, body))
