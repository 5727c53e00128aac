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
from typing import Any, Protocol

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


def records_for(store: BlobStore) -> RequestCache:
    """The records of ``store``'s backend, read through a request's cache; ValueError for
    a store that has no place for them."""
    return RequestCache(_backend_records(store))


def _backend_records(store: BlobStore) -> DavRecords:
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


class RequestCache:
    """Records read once per request (in ``flask.g``): a PROPFIND asks for the same few
    many times, and on S3 each ask is a round trip. Writes go through and update it;
    :meth:`exclusive` empties it, so decisions in the critical section read fresh."""

    def __init__(self, records: DavRecords) -> None:
        self.records = records

    def __repr__(self) -> str:
        return repr(self.records)

    @staticmethod
    def _memo() -> dict[tuple[str, ...], Any] | None:
        from flask import g, has_request_context

        if not has_request_context():
            return None
        memo: dict[tuple[str, ...], Any] | None = g.get("blobstream_dav_records")
        if memo is None:
            memo = g.blobstream_dav_records = {}
        return memo

    def get(self, kind: str, name: str) -> bytes | None:
        memo = self._memo()
        if memo is None:
            return self.records.get(kind, name)
        if (kind, name) in memo:
            value: bytes | None = memo[kind, name]
            return value
        if any(name.startswith(p) for p in memo.get(("complete", kind), ())):
            return None  # a prefetch listed every record under this prefix
        value = memo[kind, name] = self.records.get(kind, name)
        return value

    def _changed(self, kind: str, name: str, data: bytes | None) -> None:
        memo = self._memo()
        if memo is not None:
            for key in [k for k in memo if k[0] == "scan" and k[1] == kind]:
                del memo[key]
            memo[kind, name] = data

    def put(self, kind: str, name: str, data: bytes) -> None:
        self.records.put(kind, name, data)
        self._changed(kind, name, data)

    def delete(self, kind: str, name: str) -> None:
        self.records.delete(kind, name)
        self._changed(kind, name, None)

    def scan(
        self, kind: str, prefix: str, after: str = "", limit: int = PAGE
    ) -> list[tuple[str, bytes]]:
        memo = self._memo()
        if memo is None:
            return self.records.scan(kind, prefix, after, limit)
        key = ("scan", kind, prefix, after, str(limit))
        if key not in memo:
            memo[key] = self.records.scan(kind, prefix, after, limit)
        found: list[tuple[str, bytes]] = memo[key]
        return found

    def prefetch(self, kind: str, prefix: str) -> None:
        """Read the records under ``prefix`` in one listing, when they fit in a page."""
        memo = self._memo()
        if memo is None:
            return
        page = self.scan(kind, prefix)
        if len(page) < PAGE:
            for name, data in page:
                memo[kind, name] = data
            memo.setdefault(("complete", kind), []).append(prefix)

    def exclusive(self) -> AbstractContextManager[None]:
        memo = self._memo()
        if memo is not None:
            memo.clear()
        return self.records.exclusive()
