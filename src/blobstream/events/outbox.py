"""The outbox: events recorded in the store before the request that caused them returns.

A row per event and webhook URL. A delivery thread claims due rows with a
lease (so two workers or nodes never send one row at the same time), sends
them, then deletes the delivered ones or schedules a retry. Only the oldest
undelivered row of a (URL, key) pair can be claimed, so each receiver sees the
events of one key in order; delivery is at-least-once.

On the local backend the rows are written in the index transaction that
commits or deletes the blob (:meth:`SqliteOutbox.append_in`), on PostgreSQL in
the transaction that swaps the key (:meth:`PostgresOutbox.append_in`; claims use
``FOR UPDATE SKIP LOCKED``). On S3 events are objects under a reserved prefix
(:mod:`blobstream.events.s3_outbox`).
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from blobstream.events.model import Event

if TYPE_CHECKING:
    from blobstream.storage.local import LocalStore
    from blobstream.storage.postgres import PostgresStore


@dataclass(frozen=True)
class OutboxEntry:
    """One claimed delivery: the event's body for one URL."""

    seq: int
    event_id: str
    url: str
    key: str
    body: bytes
    attempts: int
    created: float


class EventOutbox(Protocol):
    """Where events wait for delivery; shared by every worker and node of one store."""

    def append(self, events: Sequence[Event], urls: Sequence[str]) -> None:
        """Record each event for each URL, durably."""
        ...

    def claim(self, owner: str, limit: int, lease: float) -> list[OutboxEntry]:
        """Up to ``limit`` due entries, the oldest of each (URL, key), leased to ``owner``."""
        ...

    def delivered(self, seq: int) -> None: ...

    def retry_later(self, seq: int, at: float) -> None:
        """Count a failed attempt and release the lease until ``at``."""
        ...

    def pending(self) -> int:
        """How many entries wait (for metrics and tests)."""
        ...


SQLITE_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL,
    url TEXT NOT NULL,
    key BLOB NOT NULL,
    body BLOB NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    created REAL NOT NULL,
    next_at REAL NOT NULL,
    lease_until REAL NOT NULL DEFAULT 0,
    owner TEXT
);
CREATE INDEX IF NOT EXISTS outbox_order ON outbox (url, key, seq);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (next_at);
"""

_CLAIMABLE = """
SELECT seq, event_id, url, key, body, attempts, created FROM outbox o
WHERE next_at <= {p} AND lease_until <= {p}
  AND seq = (SELECT MIN(seq) FROM outbox i WHERE i.url = o.url AND i.key = o.key)
ORDER BY seq LIMIT {p}
"""


def _entry(row: Sequence[Any]) -> OutboxEntry:
    seq, event_id, url, key, body, attempts, created = row
    return OutboxEntry(seq, event_id, url, bytes(key).decode(), bytes(body), attempts, created)


class SqliteOutbox:
    """The outbox as a table of the local backend's SQLite index."""

    def __init__(self, store: LocalStore) -> None:
        self.store = store
        with self.store._transaction(durable=False) as tx:
            for statement in SQLITE_SCHEMA.split(";"):
                if statement.strip():
                    tx.execute(statement)

    def append_in(
        self, tx: sqlite3.Connection, events: Sequence[Event], urls: Sequence[str]
    ) -> None:
        """Record the events inside the caller's transaction (the blob's commit)."""
        now = time.time()
        tx.executemany(
            "INSERT INTO outbox (event_id, url, key, body, created, next_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [(e.id, url, e.key.encode(), e.body(), now, now) for e in events for url in urls],
        )

    def append(self, events: Sequence[Event], urls: Sequence[str]) -> None:
        if events and urls:
            with self.store._transaction() as tx:
                self.append_in(tx, events, urls)

    def claim(self, owner: str, limit: int, lease: float) -> list[OutboxEntry]:
        now = time.time()
        with self.store._transaction(durable=False) as tx:
            rows = tx.execute(_CLAIMABLE.format(p="?"), (now, now, limit)).fetchall()
            tx.executemany(
                "UPDATE outbox SET lease_until = ?, owner = ? WHERE seq = ?",
                [(now + lease, owner, row[0]) for row in rows],
            )
        return [_entry(row) for row in rows]

    def delivered(self, seq: int) -> None:
        with self.store._transaction() as tx:
            tx.execute("DELETE FROM outbox WHERE seq = ?", (seq,))

    def retry_later(self, seq: int, at: float) -> None:
        with self.store._transaction(durable=False) as tx:
            tx.execute(
                "UPDATE outbox SET attempts = attempts + 1, next_at = ?, lease_until = 0,"
                " owner = NULL WHERE seq = ?",
                (at, seq),
            )

    def pending(self) -> int:
        row = self.store._db().execute("SELECT COUNT(*) FROM outbox").fetchone()
        return int(row[0])


PG_SCHEMA = """
CREATE TABLE IF NOT EXISTS blobstream_outbox (
    seq BIGSERIAL PRIMARY KEY,
    event_id TEXT NOT NULL,
    url TEXT NOT NULL,
    key BYTEA NOT NULL,
    body BYTEA NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    created DOUBLE PRECISION NOT NULL,
    next_at DOUBLE PRECISION NOT NULL,
    lease_until DOUBLE PRECISION NOT NULL DEFAULT 0,
    owner TEXT
);
CREATE INDEX IF NOT EXISTS blobstream_outbox_order ON blobstream_outbox (url, key, seq);
"""

_PG_CLAIM = """
SELECT seq, event_id, url, key, body, attempts, created FROM blobstream_outbox o
WHERE next_at <= %s AND lease_until <= %s
  AND seq = (SELECT MIN(seq) FROM blobstream_outbox i WHERE i.url = o.url AND i.key = o.key)
ORDER BY seq LIMIT %s
FOR UPDATE SKIP LOCKED
"""


class PostgresOutbox:
    """The outbox as a PostgreSQL table; concurrent claimers skip each other's rows."""

    def __init__(self, store: PostgresStore) -> None:
        self.store = store
        with self.store.transaction() as conn:
            # Serialise the DDL of workers starting together (CREATE IF NOT EXISTS races).
            conn.execute("SELECT pg_advisory_xact_lock(7262636865)")
            for statement in PG_SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement.encode())

    def append_in(self, conn: Any, events: Sequence[Event], urls: Sequence[str]) -> None:
        """Record the events inside the caller's transaction (the blob's commit)."""
        if not events or not urls:
            return
        now = time.time()
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO blobstream_outbox (event_id, url, key, body, created, next_at)"
                " VALUES (%s, %s, %b, %b, %s, %s)",
                [(e.id, u, e.key.encode(), e.body(), now, now) for e in events for u in urls],
            )

    def append(self, events: Sequence[Event], urls: Sequence[str]) -> None:
        if events and urls:
            with self.store.transaction() as conn:
                self.append_in(conn, events, urls)

    def claim(self, owner: str, limit: int, lease: float) -> list[OutboxEntry]:
        now = time.time()
        with self.store.transaction() as conn:
            rows = conn.execute(_PG_CLAIM.encode(), (now, now, limit)).fetchall()
            for row in rows:
                conn.execute(
                    "UPDATE blobstream_outbox SET lease_until = %s, owner = %s WHERE seq = %s",
                    (now + lease, owner, row[0]),
                )
        return [_entry(row) for row in rows]

    def delivered(self, seq: int) -> None:
        with self.store.transaction() as conn:
            conn.execute("DELETE FROM blobstream_outbox WHERE seq = %s", (seq,))

    def retry_later(self, seq: int, at: float) -> None:
        with self.store.transaction() as conn:
            conn.execute(
                "UPDATE blobstream_outbox SET attempts = attempts + 1, next_at = %s,"
                " lease_until = 0, owner = NULL WHERE seq = %s",
                (at, seq),
            )

    def pending(self) -> int:
        with self.store.transaction() as conn:
            row = conn.execute("SELECT COUNT(*) FROM blobstream_outbox").fetchone()
        return int(row[0]) if row else 0


def outbox_for(store: object) -> EventOutbox | None:
    """The outbox of a backend that can keep one; None for any other store."""
    from blobstream.storage.local import LocalStore

    if isinstance(store, LocalStore):
        return SqliteOutbox(store)
    with contextlib.suppress(ImportError):
        from blobstream.storage.postgres import PostgresStore

        if isinstance(store, PostgresStore):
            return PostgresOutbox(store)
    with contextlib.suppress(ImportError):
        from blobstream.storage.s3 import S3Store

        if isinstance(store, S3Store):
            from blobstream.events.s3_outbox import S3Outbox

            return S3Outbox(store)
    return None
