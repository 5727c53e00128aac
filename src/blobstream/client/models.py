"""What the client returns about a blob."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any


@dataclass(frozen=True)
class BlobStat:
    """One version of a blob. ``etag`` is quoted, as in HTTP; ``sha256`` is hex."""

    key: str
    size: int
    etag: str
    sha256: str | None
    content_type: str
    last_modified: datetime | None

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> BlobStat:
        """From a ``PUT`` answer or one entry of a listing."""
        modified = body.get("last_modified")
        return cls(
            key=str(body["key"]),
            size=int(body["size"]),
            etag=str(body["etag"]),
            sha256=body.get("sha256"),
            content_type=str(body.get("content_type", "application/octet-stream")),
            last_modified=_iso(modified) if modified else None,
        )

    @classmethod
    def from_headers(cls, key: str, headers: Mapping[str, str]) -> BlobStat:
        """From the headers of ``HEAD``/``GET`` (RFC 9110 §8, RFC 9530 Repr-Digest)."""
        modified = headers.get("Last-Modified")
        return cls(
            key=key,
            size=int(headers.get("Content-Length", "0")),
            etag=headers.get("ETag", ""),
            sha256=sha256_of(headers),
            content_type=headers.get("Content-Type", "application/octet-stream"),
            last_modified=_http_date(modified) if modified else None,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "size": self.size,
            "etag": self.etag,
            "sha256": self.sha256,
            "content_type": self.content_type,
            "last_modified": _format(self.last_modified),
        }


def sha256_of(headers: Mapping[str, str], field: str = "Repr-Digest") -> str | None:
    """The hex SHA-256 in a ``Repr-Digest`` field, or None when absent or unreadable."""
    from blobstream.errors import InvalidHeader
    from blobstream.http.digests import parse_digest_field

    try:
        digest = parse_digest_field(headers.get(field)).get("sha-256")
    except InvalidHeader:
        return None
    return digest.hex() if digest is not None and len(digest) == 32 else None


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def unb64(text: str) -> bytes | None:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None


def _iso(text: str) -> datetime | None:
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _http_date(text: str) -> datetime | None:
    try:
        return parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None


def _format(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
