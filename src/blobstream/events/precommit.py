"""The pre-commit hook: after the bytes arrived and before the commit, ask a URL.

A 2xx answer lets the commit happen; any other answer vetoes it. The client
gets the hook's status when it is a 4xx (403 otherwise) and the hook's message
(``detail``, ``message`` or ``title`` of a JSON body, else its text) as the
problem's detail. A hook that cannot be reached vetoes too (503): a scanner
that is down must not let unscanned bytes in.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from typing import Any

from blobstream.errors import StorageUnavailable, Vetoed
from blobstream.events.model import node_name, signed_headers

MAX_MESSAGE = 500


@dataclass(frozen=True)
class PendingBlob:
    """The would-be blob a pre-commit hook decides on."""

    key: str
    size: int
    sha256: str
    content_type: str
    request_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "event": "blob.pre-commit",
            "id": uuid.uuid4().hex,
            "key": self.key,
            "size": self.size,
            "sha256": self.sha256,
            "content_type": self.content_type,
            "node": node_name(),
            "request_id": self.request_id,
        }


def message_of(status: int, body: bytes, content_type: str) -> str:
    """What the hook said, short and printable."""
    text = body.decode("utf-8", "replace")
    if "json" in content_type:
        try:
            data = json.loads(text)
        except ValueError:
            data = None
        if isinstance(data, dict):
            for name in ("detail", "message", "title"):
                if isinstance(data.get(name), str) and data[name].strip():
                    text = data[name]
                    break
    text = " ".join(text.split())[:MAX_MESSAGE]
    return text or f"the pre-commit hook refused the write (status {status})"


class HttpPreCommit:
    """Calls ``url`` with the pending blob's JSON, signed like the webhooks."""

    def __init__(self, url: str, secret: bytes | None, timeout: float = 30.0) -> None:
        self.url = url
        self.secret = secret
        self.timeout = timeout

    def __call__(self, pending: PendingBlob) -> None:
        body = json.dumps(pending.to_json()).encode()
        req = urllib.request.Request(
            self.url, data=body, headers=signed_headers(self.secret, body), method="POST"
        )
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as response:  # noqa: S310
                response.read(65536)
                return
        except urllib.error.HTTPError as exc:
            with exc:
                answer = exc.read(65536)
                ctype = exc.headers.get("Content-Type", "")
            raise Vetoed(message_of(exc.code, answer, ctype), exc.code) from None
        except (OSError, ValueError) as exc:
            raise StorageUnavailable(
                "the pre-commit hook did not answer, so the write was not committed"
            ) from exc
