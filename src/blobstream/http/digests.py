"""Integrity fields: ``Content-Digest``/``Repr-Digest`` (RFC 9530), ``Content-MD5``
(RFC 1864) and tus ``Upload-Checksum``."""

from __future__ import annotations

import base64
import binascii
import hmac
import re
from dataclasses import dataclass

from blobstream.errors import DigestMismatch, InvalidHeader

DIGEST_LENGTHS = {"sha-256": 32, "sha-512": 64, "md5": 16, "sha": 20}
"""Byte lengths of the RFC 9530 §5 algorithms we check when they appear."""

TUS_CHECKSUM_ALGORITHMS = {"sha1": 20, "sha256": 32, "md5": 16}
"""tus checksum extension algorithms we support, with their digest lengths."""

# RFC 8941 §3.2 dictionary member: key, "=", byte sequence, then parameters
# (RFC 9530 defines none; tolerated and ignored). Bare-item parameters are
# limited to tokens, numbers, booleans and byte sequences.
_KEY = r"[a-z*][a-z0-9_.*-]*"
_BARE = r"(?:\?[01]|-?[0-9]+(?:\.[0-9]+)?|[A-Za-z*][!#$%&'*+.^_`|~0-9A-Za-z:/-]*|:[A-Za-z0-9+/=]*:)"
_MEMBER = re.compile(rf"({_KEY})=:([A-Za-z0-9+/=]*):((?:;[ ]*{_KEY}(?:={_BARE})?)*)", re.ASCII)
_B64 = re.compile(r"[A-Za-z0-9+/]*={0,2}", re.ASCII)


class UnsupportedChecksum(InvalidHeader):
    """A tus ``Upload-Checksum`` names an algorithm we do not support (tus 1.0 checksum)."""

    slug = "unsupported-checksum"
    title = "Unsupported checksum algorithm"


def decode_base64(text: str, what: str) -> bytes:
    """Strict base64 (RFC 4648 §4); missing ``=`` padding is tolerated (RFC 8941 §3.3.5)."""
    bare = text.rstrip("=")
    if not _B64.fullmatch(text):
        raise InvalidHeader(f"{what}: not valid base64: {text!r}")
    try:
        return base64.b64decode(bare + "=" * (-len(bare) % 4), validate=True)
    except binascii.Error as err:
        raise InvalidHeader(f"{what}: not valid base64: {text!r}") from err


def parse_digest_field(value: str | None) -> dict[str, bytes]:
    """Parse a ``Content-Digest`` or ``Repr-Digest`` dictionary (RFC 9530 §2-3, RFC 8941 §4.2.2).

    Keys are lowercased; unknown algorithms are kept. Raises
    :class:`InvalidHeader` for anything that is not ``alg=:base64:`` members.
    """
    if value is None:
        return {}
    text = value.strip(" \t")
    if not text:
        return {}
    result: dict[str, bytes] = {}
    for member in text.split(","):
        match = _MEMBER.fullmatch(_lower_key(member))
        if match is None:
            raise InvalidHeader(f"invalid digest field member: {member.strip()!r}")
        result[match[1]] = decode_base64(match[2], f"digest {match[1]}")
    return result


def _lower_key(member: str) -> str:
    """Strip OWS and lowercase the key only (base64 is case-sensitive)."""
    member = member.strip(" \t")
    key, sep, rest = member.partition("=")
    return key.lower() + sep + rest


def format_digest_field(algorithms: dict[str, bytes]) -> str:
    """Format ``{"sha-256": digest}`` as ``sha-256=:base64:`` members (RFC 9530 §2)."""
    return ", ".join(
        f"{name}=:{base64.b64encode(digest).decode('ascii')}:"
        for name, digest in algorithms.items()
    )


def parse_content_md5(value: str | None) -> bytes | None:
    """Parse ``Content-MD5``: base64 of the 16-byte MD5 digest (RFC 1864 §2)."""
    if value is None:
        return None
    digest = decode_base64(value.strip(" \t"), "Content-MD5")
    if len(digest) != 16:
        raise InvalidHeader(f"Content-MD5 must encode 16 bytes, not {len(digest)}")
    return digest


@dataclass(frozen=True)
class ExpectedDigests:
    """The digests a client declared for the body it sends."""

    sha256: bytes | None = None
    md5: bytes | None = None

    def check(self, sha256: bytes, md5: bytes | None = None) -> None:
        """Raise :class:`DigestMismatch` unless the computed digests equal the declared ones."""
        if self.sha256 is not None and not hmac.compare_digest(self.sha256, sha256):
            raise DigestMismatch("the body does not match its declared sha-256 digest")
        if self.md5 is not None:
            if md5 is None:
                raise ValueError("an MD5 digest was declared but not computed")
            if not hmac.compare_digest(self.md5, md5):
                raise DigestMismatch("the body does not match its declared MD5 digest")


def expected_digests(content_md5: str | None, content_digest: str | None) -> ExpectedDigests:
    """Combine ``Content-MD5`` and ``Content-Digest`` (RFC 9530 §2); conflicts raise."""
    md5 = parse_content_md5(content_md5)
    fields = parse_digest_field(content_digest)
    for name, digest in fields.items():
        expected = DIGEST_LENGTHS.get(name)
        if expected is not None and len(digest) != expected:
            raise InvalidHeader(
                f"Content-Digest {name} must be {expected} bytes, not {len(digest)}"
            )
    field_md5 = fields.get("md5")
    if md5 is not None and field_md5 is not None and md5 != field_md5:
        raise InvalidHeader("Content-MD5 and Content-Digest md5 disagree")
    return ExpectedDigests(sha256=fields.get("sha-256"), md5=md5 or field_md5)


def parse_tus_checksum(value: str) -> tuple[str, bytes]:
    """Parse a tus ``Upload-Checksum: <algorithm> <base64>`` (tus 1.0 checksum extension)."""
    name, sep, encoded = value.strip(" \t").partition(" ")
    name = name.lower()
    if not sep or not name or not encoded:
        raise InvalidHeader(f"Upload-Checksum must be '<algorithm> <base64>': {value!r}")
    expected = TUS_CHECKSUM_ALGORITHMS.get(name)
    if expected is None:
        raise UnsupportedChecksum(f"unsupported checksum algorithm: {name!r}")
    digest = decode_base64(encoded.strip(" \t"), "Upload-Checksum")
    if len(digest) != expected:
        raise InvalidHeader(f"Upload-Checksum {name} must be {expected} bytes, not {len(digest)}")
    return name, digest
