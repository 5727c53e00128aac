"""WebDAV records on the ``file:`` backend: an SQLite file beside the index.

A file of its own (``dav.sqlite3``) keeps these small writes out of the
index's write lock and group commit. The critical section is an ``flock`` on
``dav.lock`` (every worker of the node) around a thread lock (every thread).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

from blobstream.errors import StorageUnavailable
from blobstream.storage.keyrange import upper_bound

SCHEMA = """
CREATE TABLE IF NOT EXISTS dav_records (
    kind TEXT NOT NULL, name BLOB NOT NULL, data BLOB NOT NULL, PRIMARY KEY (kind, name)
) WITHOUT ROWID
"""


class SqliteRecords:
    """:class:`~blobstream.dav.records.DavRecords` in one SQLite file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        self._mutex = threading.RLock()
        self._depth = 0  # the file and its table are made on first use: a worker that
        # boots while the storage directory is away answers 503 until it is back

    def _db(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            try:
                conn = sqlite3.connect(
                    self.path, isolation_level=None, check_same_thread=False, timeout=60
                )
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute(SCHEMA)
            except sqlite3.Error as exc:
                raise StorageUnavailable(f"cannot open {self.path}: {exc}") from exc
            self._local.conn = conn
        return conn

    def get(self, kind: str, name: str) -> bytes | None:
        row = (
            self._db()
            .execute(
                "SELECT data FROM dav_records WHERE kind = ? AND name = ?", (kind, name.encode())
            )
            .fetchone()
        )
        return None if row is None else bytes(row[0])

    def put(self, kind: str, name: str, data: bytes) -> None:
        self._db().execute(
            "INSERT OR REPLACE INTO dav_records VALUES (?, ?, ?)", (kind, name.encode(), data)
        )

    def delete(self, kind: str, name: str) -> None:
        self._db().execute(
            "DELETE FROM dav_records WHERE kind = ? AND name = ?", (kind, name.encode())
        )

    def scan(
        self, kind: str, prefix: str, after: str = "", limit: int = 1000
    ) -> list[tuple[str, bytes]]:
        low = max(prefix.encode(), after.encode() + b"\x00") if after else prefix.encode()
        query = "SELECT name, data FROM dav_records WHERE kind = ? AND name >= ?"
        args: list[object] = [kind, low]
        high = upper_bound(prefix.encode())
        if high is not None:
            query += " AND name < ?"
            args.append(high)
        query += " ORDER BY name LIMIT ?"
        args.append(limit)
        rows = self._db().execute(query, args).fetchall()
        return [(bytes(name).decode(), bytes(data)) for name, data in rows]

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        with self._mutex:
            self._depth += 1
            try:
                if self._depth > 1:
                    yield
                    return
                fd = os.open(self.path.with_suffix(".lock"), os.O_RDWR | os.O_CREAT, 0o600)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX)
                    yield
                finally:
                    os.close(fd)  # closing releases the flock
            finally:
                self._depth -= 1
