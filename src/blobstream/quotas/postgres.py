"""Quotas on PostgreSQL: counters in tables of the blobs' own database.

``blobstream_quota_usage`` holds each scope's bytes and blobs;
``blobstream_quota_owner`` the token scope of each blob a limited token stored.
Both change in the transaction that swaps or deletes the key (the backend's
``tx_hooks``): the usage rows are locked (``UPDATE … RETURNING``, always in
scope order so two writers never deadlock) and the new totals checked before
``COMMIT``, so writers on any number of nodes cannot overshoot a quota — a
writer that would is rolled back with its bytes. Each worker recounts the
prefix scopes once at start (an index range aggregate) with the usage rows
locked, so writers committing meanwhile are counted exactly once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from blobstream.quotas import Deltas, Quotas, Rule, add
from blobstream.storage.keyrange import key_range
from blobstream.storage.protocol import BlobInfo

if TYPE_CHECKING:
    from blobstream.storage.postgres import Conn, PostgresStore


class PostgresQuotas(Quotas):
    """The rules of one app and their counters in PostgreSQL."""

    def __init__(self, rules: Sequence[Rule], store: PostgresStore) -> None:
        super().__init__(rules)
        self.store = store
        with store.transaction() as conn:
            self._recount(conn)

    def _recount(self, conn: Conn) -> None:
        scopes = sorted(self.limits)
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO blobstream_quota_usage VALUES (%s, 0, 0) ON CONFLICT DO NOTHING",
                [(scope,) for scope in scopes],
            )
        conn.execute(
            "SELECT scope FROM blobstream_quota_usage WHERE scope = ANY(%s)"
            " ORDER BY scope FOR UPDATE",
            (scopes,),
        )
        conn.execute(
            "DELETE FROM blobstream_quota_owner o WHERE NOT EXISTS"
            " (SELECT 1 FROM blobstream_blobs b WHERE b.key = o.key)"
        )
        for scope in scopes:
            rule = self.limits[scope]
            if rule.prefix is not None:
                where, args = key_range(rule.prefix, "", "%b")
                query = (
                    f"SELECT COALESCE(SUM(size), 0), COUNT(*) FROM blobstream_blobs WHERE {where}"
                )
            else:
                query = (
                    "SELECT COALESCE(SUM(size), 0), COUNT(*) FROM blobstream_quota_owner"
                    " WHERE scope = %s"
                )
                args = [scope]
            row = conn.execute(query.encode(), args).fetchone()
            used, count = row if row else (0, 0)
            conn.execute(
                "UPDATE blobstream_quota_usage SET bytes = %s, blobs = %s WHERE scope = %s",
                (used, count, scope),
            )

    def usage(self, scope: str) -> tuple[int, int]:
        with self.store.transaction() as conn:
            row = conn.execute(
                "SELECT bytes, blobs FROM blobstream_quota_usage WHERE scope = %s", (scope,)
            ).fetchone()
        return (int(row[0]), int(row[1])) if row else (0, 0)

    def counted(self, key: str, rule: Rule) -> int | None:
        with self.store.transaction() as conn:
            if rule.prefix is not None:
                row = conn.execute(
                    "SELECT size FROM blobstream_blobs WHERE key = %b", (key.encode(),)
                ).fetchone()
            else:
                row = conn.execute(
                    "SELECT size FROM blobstream_quota_owner WHERE key = %b AND scope = %s",
                    (key.encode(), rule.scope),
                ).fetchone()
        return None if row is None else int(row[0])

    def on_commit(
        self, tx: Conn, key: str, old: BlobInfo | None, new: BlobInfo | None, token: str | None
    ) -> None:
        """Move the counters by the change of ``key`` in the commit's transaction and
        refuse (roll back) a change that grows a scope past its quota."""
        deltas: Deltas = self.prefix_deltas(key, old, new)
        if self.by_token:
            raw = key.encode()
            row = tx.execute(
                "DELETE FROM blobstream_quota_owner WHERE key = %b RETURNING scope, size", (raw,)
            ).fetchone()
            if row is not None:
                add(deltas, str(row[0]), int(row[1]), -1)
            scope = self.token_scope(token)
            if new is not None and scope is not None:
                tx.execute(
                    "INSERT INTO blobstream_quota_owner VALUES (%b, %s, %s)",
                    (raw, scope, new.size),
                )
                add(deltas, scope, new, +1)
        for scope in sorted(deltas):
            grow = deltas[scope]
            if grow == [0, 0]:
                continue
            row = tx.execute(
                "UPDATE blobstream_quota_usage SET bytes = bytes + %s, blobs = blobs + %s"
                " WHERE scope = %s RETURNING bytes, blobs",
                (grow[0], grow[1], scope),
            ).fetchone()
            used, count = (int(row[0]), int(row[1])) if row else (0, 0)
            self.check(scope, grow, used, count)
