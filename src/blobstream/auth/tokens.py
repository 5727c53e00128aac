"""Bearer tokens with roles, from ``BLOBSTREAM_TOKENS`` or a tokens file (RFC 6750).

Only SHA-256 digests of tokens are kept in memory, and a presented token is
compared with every known digest by :func:`hmac.compare_digest`, so neither the
comparison nor an early exit tells a client how close its guess was. A tokens
file may hold ``sha256:<hex>`` digests instead of plain tokens, so it need not
contain a usable secret.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path

HASH_PREFIX = "sha256:"
# RFC 6750 §2.1 b64token: what may follow "Bearer ".
_TOKEN = re.compile(r"^[A-Za-z0-9\-._~+/]+=*$")
_HEX64 = re.compile(r"^[0-9a-fA-F]{64}$")


class Role(IntEnum):
    """Each role includes the ones below it: admin > write > read."""

    READ = 1
    WRITE = 2
    ADMIN = 3

    @classmethod
    def parse(cls, name: str) -> Role:
        try:
            return cls[name.strip().upper()]
        except KeyError:
            raise ValueError(f"role {name.strip()!r} is not read, write or admin") from None

    @property
    def label(self) -> str:
        return self.name.lower()


@dataclass(frozen=True)
class Principal:
    """Who a request acts as. ``name`` is safe to log: it is not the token."""

    name: str
    role: Role
    token_id: str | None = None


def hash_token(token: str) -> str:
    """The ``sha256:<hex>`` form of a token, for a tokens file."""
    return HASH_PREFIX + hashlib.sha256(token.encode("utf-8")).hexdigest()


def _digest(spec: str, where: str) -> bytes:
    """The SHA-256 digest a configured token (plain or ``sha256:<hex>``) stands for."""
    if spec.lower().startswith(HASH_PREFIX):
        hexdigest = spec[len(HASH_PREFIX) :]
        if not _HEX64.match(hexdigest):
            raise ValueError(f"{where}: a sha256: token needs 64 hexadecimal digits")
        return bytes.fromhex(hexdigest)
    if not _TOKEN.match(spec):
        # Never echo the value: it is a secret.
        raise ValueError(
            f"{where}: a token may hold only letters, digits and -._~+/ (then '=' padding)"
        )
    return hashlib.sha256(spec.encode("ascii")).digest()


def parse_tokens(value: str, source: str = "BLOBSTREAM_TOKENS") -> list[tuple[bytes, Role]]:
    """Parse ``"token=role,token=role"``; a token may be ``sha256:<hex>``."""
    entries = []
    for number, item in enumerate(value.split(","), 1):
        item = item.strip()
        if not item:
            continue
        token, sep, role = item.rpartition("=")
        where = f"{source} entry {number}"
        if not sep or not token.strip():
            raise ValueError(f"{where}: expected token=role")
        entries.append((_digest(token.strip(), where), _role(role, where)))
    return entries


def parse_tokens_file(text: str, source: str = "tokens file") -> list[tuple[bytes, Role]]:
    """Parse one ``token role`` per line; blank lines and ``#`` comments are skipped."""
    entries = []
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        fields = line.split()
        where = f"{source} line {number}"
        if len(fields) != 2:
            raise ValueError(f"{where}: expected 'token role'")
        entries.append((_digest(fields[0], where), _role(fields[1], where)))
    return entries


def read_tokens_file(path: str | Path) -> list[tuple[bytes, Role]]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"cannot read the tokens file {str(path)!r}: {exc}") from exc
    return parse_tokens_file(text, f"tokens file {str(path)!r}")


def _role(name: str, where: str) -> Role:
    try:
        return Role.parse(name)
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None


class TokenTable:
    """The configured tokens; :meth:`authenticate` looks one up in constant time."""

    def __init__(self, entries: Iterable[tuple[bytes, Role]] = ()) -> None:
        self._entries: dict[bytes, Role] = {}
        for digest, role in entries:
            self._entries[digest] = role

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[tuple[bytes, Role]]:
        return iter(self._entries.items())

    def authenticate(self, token: str) -> Principal | None:
        """The principal of ``token``, or None. Every entry is compared, match or not."""
        presented = hashlib.sha256(token.encode("utf-8", "surrogateescape")).digest()
        found: Role | None = None
        for digest, role in self._entries.items():
            if hmac.compare_digest(presented, digest):
                found = role
        if found is None:
            return None
        token_id = presented.hex()[:12]
        return Principal(name=f"token:{token_id}", role=found, token_id=token_id)
