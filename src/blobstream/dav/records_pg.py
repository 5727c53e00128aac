"""WebDAV records on PostgreSQL: a table in the blobs' database.

The critical section is a transaction-scoped advisory lock; the records read
and written inside it use that transaction's connection, so a pool of any size
cannot deadlock on it.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from blobstream.storage.keyrange import upper_bound

if TYPE_CHECKING:
    from blobstream.storage.postgres import Conn, PostgresStore

SCHEMA = """
CREATE TABLE IF NOT EXISTS blobstream_dav_records (
    kind text NOT NULL, name bytea NOT NULL, data bytea NOT NULL, PRIMARY KEY (kind, name)
)
"""
# Any constants: schema creation by several workers at once, and the critical section.
SCHEMA_LOCK = 0x626C6F6264617601
EXCLUSIVE_LOCK = 0x626C6F6264617602


class PostgresRecords:
    """:class:`~blobstream.dav.records.DavRecords` in ``blobstream_dav_records``."""

    def __init__(self, store: PostgresStore) -> None:
        self.store = store
        self._local = threading.local()
        with store.transaction() as conn:
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
            conn.execute(SCHEMA)

    @contextlib.contextmanager
    def _conn(self) -> Iterator[Conn]:
        held: Conn | None = getattr(self._local, "conn", None)
        if held is not None:
            yield held
            return
        with self.store.transaction() as conn:
            yield conn

    def get(self, kind: str, name: str) -> bytes | None:
        with self._conn() as conn:
            row = conn.execute(
                "SELECT data FROM blobstream_dav_records WHERE kind = %s AND name = %b",
                (kind, name.encode()),
            ).fetchone()
        return None if row is None else bytes(row[0])

    def put(self, kind: str, name: str, data: bytes) -> None:
        with self._conn() as conn:
            conn.execute(
                "INSERT INTO blobstream_dav_records VALUES (%s, %b, %b)"
                " ON CONFLICT (kind, name) DO UPDATE SET data = EXCLUDED.data",
                (kind, name.encode(), data),
            )

    def delete(self, kind: str, name: str) -> None:
        with self._conn() as conn:
            conn.execute(
                "DELETE FROM blobstream_dav_records WHERE kind = %s AND name = %b",
                (kind, name.encode()),
            )

    def scan(
        self, kind: str, prefix: str, after: str = "", limit: int = 1000
    ) -> list[tuple[str, bytes]]:
        low = max(prefix.encode(), after.encode() + b"\x00") if after else prefix.encode()
        query = "SELECT name, data FROM blobstream_dav_records WHERE kind = %s AND name >= %b"
        args: list[Any] = [kind, low]
        high = upper_bound(prefix.encode())
        if high is not None:
            query += " AND name < %b"
            args.append(high)
        query += " ORDER BY name LIMIT %s"
        args.append(limit)
        with self._conn() as conn:
            rows = conn.execute(query.encode(), args).fetchall()
        return [(bytes(name).decode(), bytes(data)) for name, data in rows]

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        if getattr(self._local, "conn", None) is not None:
            yield
            return
        with self.store.transaction() as conn:
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (EXCLUSIVE_LOCK,))
            self._local.conn = conn
            try:
                yield
            finally:
                self._local.conn = None
