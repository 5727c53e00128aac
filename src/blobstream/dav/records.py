"""What WebDAV keeps beside the blobs: collection markers, dead properties, locks.

They live in the store itself, so every worker and node sees the same ones
(WsgiDAV's own managers keep them per process). A record is a small byte value
under ``(kind, name)``; :func:`records_for` picks the backend's way of keeping
them: a table of their own on ``file:`` (an SQLite file beside the index) and
``postgresql:``, small objects under ``<prefix>/.blobstream/dav/`` on ``s3:``.
:meth:`DavRecords.exclusive` is a critical section shared by every process
using the store: lock decisions (check for conflicts, then record) run in it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import Protocol

from blobstream.storage.protocol import BlobStore

DIR = "dir"  # an empty collection's marker; name = its key prefix without the last "/"
PROP = "prop"  # a resource's dead properties; name = its path, data = JSON
LOCK = "lock"  # one lock; name = its token, data = JSON
MTIME = "mtime"  # a blob's modification time from X-OC-Mtime; name = its key
PAGE = 1000


class DavRecords(Protocol):
    """Small values by ``(kind, name)``, listed in byte order of the name."""

    def get(self, kind: str, name: str) -> bytes | None: ...

    def put(self, kind: str, name: str, data: bytes) -> None: ...

    def delete(self, kind: str, name: str) -> None: ...

    def scan(
        self, kind: str, prefix: str, after: str = "", limit: int = PAGE
    ) -> list[tuple[str, bytes]]:
        """Up to ``limit`` records whose name starts with ``prefix`` and sorts after ``after``."""
        ...

    def exclusive(self) -> AbstractContextManager[None]:
        """Hold the store-wide critical section (re-entered by the same thread)."""
        ...


def scan_all(records: DavRecords, kind: str, prefix: str) -> Iterator[tuple[str, bytes]]:
    """Every record of ``kind`` under ``prefix``, one page at a time."""
    after = ""
    while True:
        page = records.scan(kind, prefix, after)
        yield from page
        if len(page) < PAGE:
            return
        after = page[-1][0]


def records_for(store: BlobStore) -> DavRecords:
    """The records of ``store``'s backend; ValueError for a store that has no place for them."""
    from blobstream.storage.local import LocalStore

    if isinstance(store, LocalStore):
        from blobstream.dav.records_local import SqliteRecords

        return SqliteRecords(store.root / "dav.sqlite3")
    from blobstream.storage.postgres import PostgresStore

    if isinstance(store, PostgresStore):
        from blobstream.dav.records_pg import PostgresRecords

        return PostgresRecords(store)
    from blobstream.storage.s3 import S3Store

    if isinstance(store, S3Store):
        from blobstream.dav.records_s3 import S3Records

        return S3Records(store)
    raise ValueError(f"WebDAV cannot keep its locks and properties in {type(store).__name__}")
