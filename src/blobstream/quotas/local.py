"""Quotas on the local backend: counters in its SQLite index.

``quota_usage`` holds each scope's bytes and blobs, updated in the transaction
that commits or deletes a blob; that transaction also re-checks the quota, so
concurrent writers cannot overshoot it. A token's blobs are remembered in
``quota_owner`` (the key, who stored it, its size). Prefix counters are
recomputed once when a worker starts (an indexed range aggregate), never per
request.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import TYPE_CHECKING

from blobstream.quotas import Deltas, Quotas, Rule, add
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


class SqliteQuotas(Quotas):
    """The rules of one app and their counters in the local index."""

    def __init__(self, rules: Sequence[Rule], store: LocalStore) -> None:
        super().__init__(rules)
        self.store = store
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

    def usage(self, scope: str) -> tuple[int, int]:
        row = (
            self.store._db()
            .execute("SELECT bytes, blobs FROM quota_usage WHERE scope = ?", (scope,))
            .fetchone()
        )
        return (row[0], row[1]) if row else (0, 0)

    def counted(self, key: str, rule: Rule) -> int | None:
        db = self.store._db()
        if rule.prefix is not None:
            row = db.execute("SELECT size FROM blobs WHERE key = ?", (key.encode(),)).fetchone()
        else:
            row = db.execute(
                "SELECT size FROM quota_owner WHERE key = ? AND scope = ?",
                (key.encode(), rule.scope),
            ).fetchone()
        return None if row is None else int(row[0])

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
        deltas: Deltas = self.prefix_deltas(key, old, new)
        if self.by_token:
            raw = key.encode()
            row = tx.execute("SELECT scope, size FROM quota_owner WHERE key = ?", (raw,)).fetchone()
            if row is not None:
                add(deltas, row[0], int(row[1]), -1)
                tx.execute("DELETE FROM quota_owner WHERE key = ?", (raw,))
            scope = self.token_scope(token)
            if new is not None and scope is not None:
                tx.execute("INSERT INTO quota_owner VALUES (?, ?, ?)", (raw, scope, new.size))
                add(deltas, scope, new, +1)
        for scope, grow in deltas.items():
            used, count = tx.execute(
                "UPDATE quota_usage SET bytes = bytes + ?, blobs = blobs + ? WHERE scope = ?"
                " RETURNING bytes, blobs",
                (grow[0], grow[1], scope),
            ).fetchone() or (0, 0)
            self.check(scope, grow, used, count)
