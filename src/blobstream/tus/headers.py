"""The tus 1.0 request headers as pure functions: parse, then decide (tus.io protocol 1.0.0).

Nothing here imports Flask; ``tests/tus/test_headers.py`` holds the tables of cases.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from urllib.parse import quote, unquote, urlsplit

from blobstream.errors import InvalidHeader, PreconditionFailed
from blobstream.http.digests import decode_base64

TUS_VERSION = "1.0.0"
EXTENSIONS = (
    "creation",
    "creation-with-upload",
    "creation-defer-length",
    "termination",
    "concatenation",
    "checksum",
    "expiration",
)
CHECKSUM_ALGORITHMS = ("sha1", "sha256", "md5")
OFFSET_CONTENT_TYPE = "application/offset+octet-stream"
OVERRIDABLE = frozenset({"HEAD", "PATCH", "DELETE", "POST", "OPTIONS"})
MAX_NUMBER = (1 << 63) - 1
MAX_METADATA = 8192


class UnsupportedVersion(PreconditionFailed):
    """``Tus-Resumable`` is missing or names a version we do not speak (tus 1.0 §Tus-Resumable)."""

    slug = "tus-version"
    title = "Unsupported tus version"
    headers = {"Tus-Version": TUS_VERSION}


def check_tus_resumable(value: str | None) -> None:
    """Every request but OPTIONS must carry ``Tus-Resumable: 1.0.0`` (else 412)."""
    if value is None:
        raise UnsupportedVersion(
            "the request has no Tus-Resumable header; this server speaks 1.0.0"
        )
    if value.strip() != TUS_VERSION:
        raise UnsupportedVersion(f"Tus-Resumable {value[:40]!r} is not supported; use 1.0.0")


def parse_number(value: str | None, name: str) -> int | None:
    """A non-negative decimal integer header (``Upload-Offset``, ``Upload-Length``)."""
    if value is None:
        return None
    text = value.strip(" \t")
    if not text.isascii() or not text.isdigit() or len(text) > 19 or int(text) > MAX_NUMBER:
        raise InvalidHeader(f"{name} must be a non-negative whole number, not {value[:40]!r}")
    return int(text)


def parse_defer_length(value: str | None) -> bool:
    """``Upload-Defer-Length: 1`` (creation-defer-length); any other value is 400."""
    if value is None:
        return False
    if value.strip(" \t") != "1":
        raise InvalidHeader(f"Upload-Defer-Length must be 1, not {value[:40]!r}")
    return True


def parse_metadata(value: str | None) -> dict[str, str]:
    """``Upload-Metadata``: comma-separated ``key base64value`` pairs, value optional.

    Keys are unique, non-empty, without spaces or commas; values must decode to UTF-8.
    """
    if value is None or not value.strip(" \t"):
        return {}
    if len(value) > MAX_METADATA:
        raise InvalidHeader(f"Upload-Metadata is longer than {MAX_METADATA} characters")
    result: dict[str, str] = {}
    for pair in value.split(","):
        pair = pair.strip(" \t")
        key, _, encoded = pair.partition(" ")
        encoded = encoded.strip(" \t")
        if not key or not key.isascii() or not key.isprintable() or " " in encoded:
            raise InvalidHeader(f"Upload-Metadata pair {pair[:60]!r} is not 'key base64'")
        if key in result:
            raise InvalidHeader(f"Upload-Metadata has the key {key!r} twice")
        raw = decode_base64(encoded, f"Upload-Metadata {key}")
        try:
            result[key] = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidHeader(f"Upload-Metadata {key}: the value is not UTF-8") from exc
    return result


def format_metadata(metadata: dict[str, str]) -> str:
    """The ``Upload-Metadata`` value for a HEAD response."""
    return ",".join(
        f"{key} {base64.b64encode(value.encode()).decode('ascii')}" if value else key
        for key, value in metadata.items()
    )


@dataclass(frozen=True)
class Concat:
    """``Upload-Concat``: ``partial``, or ``final;`` and the URLs of the partial uploads."""

    partial: bool
    parts: tuple[str, ...] = ()


def parse_concat(value: str | None) -> Concat | None:
    """``Upload-Concat: partial`` or ``final;<url> <url> …`` (concatenation extension)."""
    if value is None:
        return None
    text = value.strip(" \t")
    if text == "partial":
        return Concat(partial=True)
    kind, sep, urls = text.partition(";")
    parts = tuple(urls.split())
    if kind.strip() != "final" or not sep or not parts:
        raise InvalidHeader(f"Upload-Concat must be 'partial' or 'final;<urls>': {value[:80]!r}")
    return Concat(partial=False, parts=parts)


def upload_id_from_url(url: str, base: str) -> str:
    """The upload id in a URL (absolute or a path) under ``base`` (e.g. ``/uploads``)."""
    path = unquote(urlsplit(url).path)
    prefix = base.rstrip("/") + "/"
    upload_id = path[len(prefix) :] if path.startswith(prefix) else ""
    if not is_upload_id(upload_id):
        raise InvalidHeader(f"Upload-Concat: {url[:120]!r} is not an upload of this server")
    return upload_id


def is_upload_id(text: str) -> bool:
    return 0 < len(text) <= 64 and all(c in "0123456789abcdef" for c in text)


def effective_method(method: str, override: str | None) -> str:
    """``X-HTTP-Method-Override`` on a POST names the method meant (tus 1.0 core)."""
    if override is None or method != "POST":
        return method
    wanted = override.strip().upper()
    if wanted not in OVERRIDABLE:
        raise InvalidHeader(f"X-HTTP-Method-Override {override[:20]!r} is not a tus method")
    return wanted


def parse_checksum_header(value: str | None) -> tuple[str, bytes] | None:
    """``Upload-Checksum: <algorithm> <base64>`` or None (checksum extension)."""
    if value is None:
        return None
    from blobstream.http.digests import parse_tus_checksum

    return parse_tus_checksum(value)


def key_header(key: str) -> str:
    """``Blobstream-Key``: the blob's key percent-encoded as in its URL (a header value is
    ASCII, RFC 9110 §5.5), so a key like ``½/x`` does not break the response."""
    return quote(key, safe="!$&'()*+,/:;=@")
