"""S3 access keys: ``BLOBSTREAM_S3_CREDENTIALS="AK:SK:role,…"`` or a file of
``AK SK ROLE`` lines. Roles are the tokens' (read, write, admin).

Unlike bearer tokens, a SigV4 secret must be known to the server to recompute
signatures, so it is kept as given; it is never logged or echoed in an error.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field
from pathlib import Path

from blobstream.auth.tokens import Role

_KEY_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/=")


@dataclass(frozen=True)
class AccessKey:
    access_key: str
    secret: str = field(repr=False)
    role: Role


def _entry(ak: str, sk: str, role: str, where: str) -> AccessKey:
    if not ak or not set(ak) <= _KEY_CHARS or not sk or not set(sk) <= _KEY_CHARS:
        raise ValueError(f"{where}: an access key and its secret are letters, digits and -._~+/=")
    try:
        return AccessKey(ak, sk, Role.parse(role))
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None


def parse_credentials(value: str, source: str = "BLOBSTREAM_S3_CREDENTIALS") -> list[AccessKey]:
    """``AK:SK:role`` entries separated by commas."""
    keys = []
    for number, item in enumerate(value.split(","), 1):
        item = item.strip()
        if not item:
            continue
        fields = item.split(":")
        if len(fields) != 3:
            raise ValueError(f"{source} entry {number}: expected ACCESS_KEY:SECRET:role")
        keys.append(_entry(fields[0], fields[1], fields[2], f"{source} entry {number}"))
    return keys


def parse_credentials_file(text: str, source: str = "S3 credentials file") -> list[AccessKey]:
    """One ``AK SK ROLE`` per line; blank lines and ``#`` comments skipped."""
    keys = []
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        fields = line.split()
        if len(fields) != 3:
            raise ValueError(f"{source} line {number}: expected 'ACCESS_KEY SECRET ROLE'")
        keys.append(_entry(fields[0], fields[1], fields[2], f"{source} line {number}"))
    return keys


def read_credentials_file(path: str) -> list[AccessKey]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"cannot read the S3 credentials file {path!r}: {exc}") from exc
    return parse_credentials_file(text, f"S3 credentials file {path!r}")


class Credentials:
    """The configured access keys; empty means anonymous access (loopback only)."""

    def __init__(self, keys: list[AccessKey]) -> None:
        self._keys = {k.access_key: k for k in keys}

    def __len__(self) -> int:
        return len(self._keys)

    def find(self, access_key: str) -> AccessKey | None:
        found = None
        for name, key in self._keys.items():  # every entry compared, match or not
            if hmac.compare_digest(name.encode(), access_key.encode("utf-8", "surrogateescape")):
                found = key
        return found
