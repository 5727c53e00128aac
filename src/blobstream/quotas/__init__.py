"""Byte and blob-count quotas per key prefix and per token, on every backend.

Rules come from ``BLOBSTREAM_QUOTAS``: comma-separated ``scope=bytes[/blobs]``
where scope is ``prefix:<key prefix>`` or ``token:<token>`` (or
``token:sha256:<hex>``), bytes a size such as ``10G`` and either limit ``-``
for none; ``@path`` reads the rules from a file, one or more per line.

Each rule has a usage counter kept by the backend next to the blobs, moved by
every commit, replace and delete (:meth:`Quotas.on_commit`), which also
re-checks the quota so concurrent writers cannot overshoot it:

- ``file:`` — tables of the SQLite index, in the commit's transaction
  (:mod:`blobstream.quotas.local`);
- ``postgresql:`` — tables of the same database, rows locked in the commit's
  transaction (:mod:`blobstream.quotas.postgres`);
- ``s3:`` — small counter objects updated by compare-and-swap with S3
  conditional writes, growth reserved before the blob becomes visible
  (:mod:`blobstream.quotas.s3`, which states its limits).

:meth:`Quotas.room` refuses an upload before it starts when its declared
length cannot fit (413 past a whole quota, 507 past what is left) and gives
the bytes left, which bound the body while it streams.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from blobstream.errors import QuotaExceeded, TooLarge
from blobstream.storage.protocol import BlobInfo


@dataclass(frozen=True)
class Rule:
    """``scope`` is ``prefix:<p>`` or ``token:<token id>``; None means no limit."""

    scope: str
    max_bytes: int | None
    max_blobs: int | None

    @property
    def prefix(self) -> str | None:
        return self.scope.removeprefix("prefix:") if self.scope.startswith("prefix:") else None

    def label(self) -> str:
        prefix = self.prefix
        return f"the prefix {prefix!r}" if prefix is not None else "this token"


def token_id(spec: str) -> str:
    """The id auth gives a token (first 12 hex digits of its SHA-256)."""
    if spec.lower().startswith("sha256:"):
        return spec[7:19].lower()
    return hashlib.sha256(spec.encode("utf-8")).hexdigest()[:12]


def _limit(text: str, what: str, where: str) -> int | None:
    from blobstream.cli.sizes import parse_size

    text = text.strip()
    if text in ("-", ""):
        return None
    try:
        value = parse_size(text) if what == "bytes" else int(text)
    except ValueError:
        raise ValueError(f"{where}: {text!r} is not a number of {what}") from None
    if value < 0:
        raise ValueError(f"{where}: a quota of {what} cannot be negative")
    return value


def parse_quotas(value: str) -> list[Rule]:
    """Parse ``prefix:photos/=10G/1000,token:abc=1G`` (module docstring); ValueError if bad."""
    value = value.strip()
    if value.startswith("@"):
        try:
            value = ",".join(Path(value[1:]).read_text(encoding="utf-8").splitlines())
        except OSError as exc:
            raise ValueError(f"cannot read the quotas file {value[1:]!r}: {exc}") from None
    rules: dict[str, Rule] = {}
    for number, item in enumerate(value.split(","), 1):
        item = item.strip()
        if not item or item.startswith("#"):
            continue
        where = f"quota rule {number} ({item[:60]!r})"
        scope, sep, limits = item.rpartition("=")
        kind, colon, name = scope.partition(":")
        if not sep or not colon or kind not in ("prefix", "token") or not name:
            raise ValueError(f"{where}: expected prefix:<prefix>=<bytes>[/<blobs>] or token:…")
        size_text, _, count_text = limits.partition("/")
        if kind == "token":
            name = token_id(name)
        rule = Rule(f"{kind}:{name}", _limit(size_text, "bytes", where),
                    _limit(count_text, "blobs", where))  # fmt: skip
        rules[rule.scope] = rule
    return list(rules.values())


Deltas = dict[str, list[int]]


class Quotas:
    """The rules of one app and the checks every backend shares; a backend's subclass
    reads its counters (:meth:`usage`, :meth:`counted`) and moves them (``on_commit``)."""

    def __init__(self, rules: Sequence[Rule]) -> None:
        self.rules = list(rules)
        self.limits = {rule.scope: rule for rule in self.rules}
        self.by_token = {r.scope.removeprefix("token:"): r for r in rules if r.prefix is None}

    def rules_for(self, key: str, token: str | None) -> list[Rule]:
        found = [r for r in self.rules if r.prefix is not None and key.startswith(r.prefix)]
        if token is not None and token in self.by_token:
            found.append(self.by_token[token])
        return found

    def token_scope(self, token: str | None) -> str | None:
        """The scope a new blob stored by ``token`` counts under, if its token has a rule."""
        rule = self.by_token.get(token) if token is not None else None
        return None if rule is None else rule.scope

    def usage(self, scope: str) -> tuple[int, int]:
        """Bytes and blobs counted under ``scope``."""
        raise NotImplementedError

    def counted(self, key: str, rule: Rule) -> int | None:
        """The size of the current version of ``key`` as counted under ``rule`` (None: not)."""
        raise NotImplementedError

    def on_commit(
        self, tx: Any, key: str, old: BlobInfo | None, new: BlobInfo | None, token: str | None
    ) -> None:
        """Move the counters by a change of ``key`` inside the backend's commit ``tx``."""
        raise NotImplementedError

    def room(self, key: str, length: int | None, token: str | None) -> int | None:
        """Bytes the new version of ``key`` may have under every rule; refuses at once
        (413 when ``length`` exceeds a whole quota, 507 when it exceeds what is left)."""
        room: int | None = None
        for rule in self.rules_for(key, token):
            used, count = self.usage(rule.scope)
            old = self.counted(key, rule)
            if old is None and rule.max_blobs is not None and count + 1 > rule.max_blobs:
                raise QuotaExceeded(
                    f"{rule.label()} already holds its quota of {rule.max_blobs} blobs"
                )
            if rule.max_bytes is None:
                continue
            if length is not None and length > rule.max_bytes:
                raise TooLarge(
                    f"the body of {length} bytes exceeds the quota of {rule.label()} "
                    f"({rule.max_bytes} bytes)"
                )
            left = max(0, rule.max_bytes - used + (old or 0))
            if length is not None and length > left:
                raise QuotaExceeded(
                    f"the body of {length} bytes exceeds what is left of the quota of "
                    f"{rule.label()}: {left} of {rule.max_bytes} bytes"
                )
            room = left if room is None else min(room, left)
        return room

    def prefix_deltas(self, key: str, old: BlobInfo | None, new: BlobInfo | None) -> Deltas:
        """How a change of ``key`` moves each prefix scope: ``{scope: [bytes, blobs]}``."""
        deltas: Deltas = {}
        for rule in self.rules:
            if rule.prefix is not None and key.startswith(rule.prefix):
                add(deltas, rule.scope, old, -1)
                add(deltas, rule.scope, new, +1)
        return deltas

    def check(self, scope: str, grow: Sequence[int], used: int, count: int) -> None:
        """Refuse a change that grew ``scope`` to ``used`` bytes / ``count`` blobs past its
        rule (a scope without a rule, say a token whose rule went, is counted only)."""
        rule = self.limits.get(scope)
        if rule is None:
            return
        if grow[0] > 0 and rule.max_bytes is not None and used > rule.max_bytes:
            raise QuotaExceeded(
                f"the blob would take {rule.label()} past its quota of {rule.max_bytes} bytes"
            )
        if grow[1] > 0 and rule.max_blobs is not None and count > rule.max_blobs:
            raise QuotaExceeded(f"{rule.label()} already holds its quota of {rule.max_blobs} blobs")


def add(deltas: Deltas, scope: str, info: BlobInfo | int | None, sign: int) -> None:
    """Count ``info`` (a version, or a size) in or out of ``scope``."""
    if info is None:
        return
    size = info if isinstance(info, int) else info.size
    d = deltas.setdefault(scope, [0, 0])
    d[0] += sign * size
    d[1] += sign


def open_quotas(rules: Sequence[Rule], store: object) -> Quotas:
    """The quotas of ``store``'s backend; ValueError for a store that cannot keep them."""
    from blobstream.storage.local import LocalStore

    if isinstance(store, LocalStore):
        from blobstream.quotas.local import SqliteQuotas

        return SqliteQuotas(rules, store)
    with contextlib.suppress(ImportError):
        from blobstream.storage.postgres import PostgresStore

        if isinstance(store, PostgresStore):
            from blobstream.quotas.postgres import PostgresQuotas

            return PostgresQuotas(rules, store)
    with contextlib.suppress(ImportError):
        from blobstream.storage.s3 import S3Store

        if isinstance(store, S3Store):
            from blobstream.quotas.s3 import S3Quotas

            return S3Quotas(rules, store)
    name = type(store).__name__
    raise ValueError(f"quotas cannot be kept in a {name}: use a file, postgresql or s3 storage")
