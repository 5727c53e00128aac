"""Byte and blob-count quotas per key prefix and per token.

Rules come from ``BLOBSTREAM_QUOTAS``: comma-separated ``scope=bytes[/blobs]``
where scope is ``prefix:<key prefix>`` or ``token:<token>`` (or
``token:sha256:<hex>``), bytes a size such as ``10G`` and either limit ``-``
for none; ``@path`` reads the rules from a file, one or more per line.

Usage is kept in counters in the local backend's index (``quota_usage``),
updated in the transaction that commits or deletes a blob; that transaction
also re-checks the quota, so concurrent writers cannot overshoot it. A token's
blobs are remembered in ``quota_owner`` (the key, who stored it, its size).
Prefix counters are recomputed once when a worker starts (an indexed range
aggregate), never per request.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from blobstream.errors import QuotaExceeded, TooLarge
from blobstream.storage.protocol import BlobInfo

if TYPE_CHECKING:
    from blobstream.storage.local import LocalStore

SCHEMA = """
CREATE TABLE IF NOT EXISTS quota_usage (
    scope TEXT PRIMARY KEY, bytes INTEGER NOT NULL, blobs INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS quota_owner (
    key BLOB PRIMARY KEY, scope TEXT NOT NULL, size INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS quota_owner_scope ON quota_owner (scope);
"""


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


class Quotas:
    """The rules of one app, their counters in the local index, and the checks."""

    def __init__(self, rules: Sequence[Rule], store: LocalStore) -> None:
        self.rules = list(rules)
        self.store = store
        self.by_token = {r.scope.removeprefix("token:"): r for r in rules if r.prefix is None}
        with store._transaction() as tx:
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    tx.execute(statement)
            self._recount(tx)

    def _recount(self, tx: sqlite3.Connection) -> None:
        from blobstream.storage.keyrange import key_range

        tx.execute("DELETE FROM quota_owner WHERE key NOT IN (SELECT key FROM blobs)")
        for rule in self.rules:
            if rule.prefix is not None:
                where, args = key_range(rule.prefix)
                query = f"SELECT COALESCE(SUM(size), 0), COUNT(*) FROM blobs WHERE {where}"
            else:
                query = "SELECT COALESCE(SUM(size), 0), COUNT(*) FROM quota_owner WHERE scope = ?"
                args = [rule.scope]
            used, count = tx.execute(query, args).fetchone()
            tx.execute(
                "INSERT OR REPLACE INTO quota_usage VALUES (?, ?, ?)", (rule.scope, used, count)
            )

    def rules_for(self, key: str, token: str | None) -> list[Rule]:
        found = [r for r in self.rules if r.prefix is not None and key.startswith(r.prefix)]
        if token is not None and token in self.by_token:
            found.append(self.by_token[token])
        return found

    def usage(self, scope: str) -> tuple[int, int]:
        row = (
            self.store._db()
            .execute("SELECT bytes, blobs FROM quota_usage WHERE scope = ?", (scope,))
            .fetchone()
        )
        return (row[0], row[1]) if row else (0, 0)

    def _counted(self, db: sqlite3.Connection, key: str, rule: Rule) -> int | None:
        """The size of the current version of ``key`` as counted under ``rule`` (None: not)."""
        if rule.prefix is not None:
            row = db.execute("SELECT size FROM blobs WHERE key = ?", (key.encode(),)).fetchone()
        else:
            row = db.execute(
                "SELECT size FROM quota_owner WHERE key = ? AND scope = ?",
                (key.encode(), rule.scope),
            ).fetchone()
        return None if row is None else int(row[0])

    def room(self, key: str, length: int | None, token: str | None) -> int | None:
        """Bytes the new version of ``key`` may have under every rule; refuses at once
        (413 when ``length`` exceeds a whole quota, 507 when it exceeds what is left)."""
        room: int | None = None
        db = self.store._db()
        for rule in self.rules_for(key, token):
            used, count = self.usage(rule.scope)
            old = self._counted(db, key, rule)
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

    def on_commit(
        self,
        tx: sqlite3.Connection,
        key: str,
        old: BlobInfo | None,
        new: BlobInfo | None,
        token: str | None,
    ) -> None:
        """Move the counters by the change of ``key`` in the commit's transaction and
        refuse (roll back) a change that grows a scope past its quota."""
        deltas: dict[str, list[int]] = {}
        for rule in self.rules:
            if rule.prefix is not None and key.startswith(rule.prefix):
                d = deltas.setdefault(rule.scope, [0, 0])
                if old is not None:
                    d[0] -= old.size
                    d[1] -= 1
                if new is not None:
                    d[0] += new.size
                    d[1] += 1
        if self.by_token:
            raw = key.encode()
            row = tx.execute("SELECT scope, size FROM quota_owner WHERE key = ?", (raw,)).fetchone()
            if row is not None:
                d = deltas.setdefault(row[0], [0, 0])
                d[0] -= row[1]
                d[1] -= 1
                tx.execute("DELETE FROM quota_owner WHERE key = ?", (raw,))
            if new is not None and token is not None and token in self.by_token:
                scope = self.by_token[token].scope
                tx.execute("INSERT INTO quota_owner VALUES (?, ?, ?)", (raw, scope, new.size))
                d = deltas.setdefault(scope, [0, 0])
                d[0] += new.size
                d[1] += 1
        limits = {rule.scope: rule for rule in self.rules}
        for scope, (grow_bytes, grow_blobs) in deltas.items():
            used, count = tx.execute(
                "UPDATE quota_usage SET bytes = bytes + ?, blobs = blobs + ? WHERE scope = ?"
                " RETURNING bytes, blobs",
                (grow_bytes, grow_blobs, scope),
            ).fetchone() or (0, 0)
            limit = limits.get(scope)
            if limit is None:
                continue  # a token whose rule was removed: counted, not limited
            rule = limit
            if grow_bytes > 0 and rule.max_bytes is not None and used > rule.max_bytes:
                raise QuotaExceeded(
                    f"the blob would take {rule.label()} past its quota of {rule.max_bytes} bytes"
                )
            if grow_blobs > 0 and rule.max_blobs is not None and count > rule.max_blobs:
                raise QuotaExceeded(
                    f"{rule.label()} already holds its quota of {rule.max_blobs} blobs"
                )
