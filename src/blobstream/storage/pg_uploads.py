"""Resumable uploads (tus 1.0) in PostgreSQL: one large object and one row per upload.

An append holds a session advisory lock on the upload (another append gets
Locked) rather than a row lock, because it commits every few MiB: bytes that
arrived before a disconnect are durable and counted in the row's offset. A
failed checksum truncates the large object back to where the append started.
Completing an upload hands its large object to the blob in the transaction
that swaps the key; a concatenation copies the partial uploads' large objects
into a new one inside the server (``blobstream_lo_append``).
"""

from __future__ import annotations

import contextlib
import hashlib
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg.types.json import Jsonb

from blobstream.errors import Conflict, Forbidden, Locked, NotFound
from blobstream.storage.pg_schema import INV_READ, INV_WRITE, LO_CHUNK, mapped_errors
from blobstream.storage.protocol import BlobInfo, Buffer, Commit, UploadState

if TYPE_CHECKING:
    from blobstream.storage.postgres import Conn, PostgresStore, TxHook

UPLOAD_COLUMNS = 'id, "offset", length, metadata, created, expires, partial, parts, completed_key'
CHECKPOINT_BYTES = 8 << 20


def lock_key(upload_id: str) -> int:
    """The advisory-lock number of an upload: 64 bits of its id's SHA-256."""
    return int.from_bytes(hashlib.sha256(upload_id.encode()).digest()[:8], "big", signed=True)


def _state(row: tuple[Any, ...]) -> UploadState:
    upload_id, offset, length, metadata, created, expires, partial, parts, completed = row
    return UploadState(
        upload_id=upload_id,
        offset=offset,
        length=length,
        metadata=dict(metadata or {}),
        created=created,
        expires=expires,
        partial=partial,
        parts=tuple(parts or ()),
        completed_key=completed,
    )


def _scalar(conn: Conn, query: str, params: tuple[Any, ...] = ()) -> Any:
    row = conn.execute(query.encode(), params).fetchone()
    assert row is not None
    return row[0]


def _read_lo(conn: Conn, loid: int, start: int, end: int) -> Iterator[bytes]:
    """Bytes ``[start, end)`` of a large object, a piece of at most :data:`LO_CHUNK` at a time."""
    fd = _scalar(conn, "SELECT lo_open(%s, %s)", (loid, INV_READ))
    conn.execute("SELECT lo_lseek64(%s, %s, 0)", (fd, start))
    pos = start
    while pos < end:
        cur = conn.execute("SELECT loread(%s, %s)", (fd, min(LO_CHUNK, end - pos)), binary=True)
        piece = cur.fetchone()
        data = bytes(piece[0]) if piece else b""
        if not data:
            return
        pos += len(data)
        yield data
    conn.execute("SELECT lo_close(%s)", (fd,))


class PostgresAppender:
    """Appends to one upload's large object, committing every :data:`CHECKPOINT_BYTES`."""

    def __init__(self, store: PostgresStore, upload_id: str, offset: int) -> None:
        self.store = store
        self.upload_id = upload_id
        self.lock = lock_key(upload_id)
        self.conn: Conn | None = store.getconn()
        self.locked = False
        try:
            with mapped_errors():
                self.locked = bool(
                    _scalar(self.conn, "SELECT pg_try_advisory_lock(%s)", (self.lock,))
                )
                self.conn.commit()
                if not self.locked:
                    raise Locked(f"another request is appending to the upload {upload_id}")
                row = self.conn.execute(
                    'SELECT loid, "offset" FROM blobstream_uploads WHERE id = %s', (upload_id,)
                ).fetchone()
                if row is None:
                    raise NotFound(f"no upload has the id {upload_id!r}")
                if row[0] is None:
                    raise Forbidden("the upload takes no more bytes (final or completed)")
                if row[1] != offset:
                    raise Conflict(f"the upload's offset is {row[1]}, not {offset}")
                self.loid = int(row[0])
                self.start = self.offset = offset
                self.pending = 0
                self._open()
        except BaseException:
            self._release()
            raise

    def _open(self) -> None:
        assert self.conn is not None
        self.fd = int(
            _scalar(self.conn, "SELECT lo_open(%s, %s)", (self.loid, INV_WRITE | INV_READ))
        )
        self.conn.execute("SELECT lo_lseek64(%s, %s, 0)", (self.fd, self.offset))

    def _record(self) -> None:
        assert self.conn is not None
        self.conn.execute(
            'UPDATE blobstream_uploads SET "offset" = %s WHERE id = %s',
            (self.offset, self.upload_id),
        )
        self.conn.commit()
        self.pending = 0

    def write(self, data: Buffer) -> None:
        if self.conn is None:
            raise ValueError("write after close")
        with mapped_errors():
            self.conn.execute("SELECT lowrite(%s, %b)", (self.fd, data))
            self.offset += len(data)
            self.pending += len(data)
            if self.pending >= CHECKPOINT_BYTES:
                self._record()
                self._open()

    def discard(self) -> None:
        if self.conn is None:
            return
        with mapped_errors():
            self.conn.rollback()
            fd = int(_scalar(self.conn, "SELECT lo_open(%s, %s)", (self.loid, INV_WRITE)))
            self.conn.execute("SELECT lo_truncate64(%s, %s)", (fd, self.start))
            self.offset = self.start
            self._record()
            self._open()

    def close(self) -> int:
        if self.conn is None:
            return self.offset
        try:
            self._record()
        except psycopg.Error:
            # The connection broke: what the last checkpoint recorded is what is kept.
            with contextlib.suppress(psycopg.Error):
                self.conn.rollback()
            self._release()
            self.offset = self.store.get_upload(self.upload_id).offset
            return self.offset
        self._release()
        return self.offset

    def _release(self) -> None:
        conn, self.conn = self.conn, None
        if conn is None:
            return
        if self.locked:
            with contextlib.suppress(psycopg.Error):
                conn.rollback()
                conn.execute("SELECT pg_advisory_unlock(%s)", (self.lock,))
                conn.commit()
        self.store.putconn(conn)


class PostgresUploads:
    """The :class:`UploadStore` half of :class:`PostgresStore`."""

    tx_hooks: list[TxHook]

    def transaction(self) -> contextlib.AbstractContextManager[Conn]:
        raise NotImplementedError

    def getconn(self) -> Conn:
        raise NotImplementedError

    def putconn(self, conn: Conn) -> None:
        raise NotImplementedError

    def create_upload(self, state: UploadState) -> UploadState:
        if not state.created:
            state.created = time.time()
        with self.transaction() as conn:
            loid = None if state.parts else _scalar(conn, "SELECT lo_create(0)")
            conn.execute(
                'INSERT INTO blobstream_uploads (id, loid, "offset", length, metadata, created,'
                " expires, partial, parts, completed_key) VALUES (%s, %s, %s, %s, %s, %s, %s,"
                " %s, %s, %s)",
                (
                    state.upload_id,
                    loid,
                    state.offset,
                    state.length,
                    Jsonb(state.metadata),
                    state.created,
                    state.expires,
                    state.partial,
                    list(state.parts),
                    state.completed_key,
                ),
            )
        return state

    def get_upload(self, upload_id: str) -> UploadState:
        with self.transaction() as conn:
            row = conn.execute(
                f"SELECT {UPLOAD_COLUMNS} FROM blobstream_uploads WHERE id = %s", (upload_id,)
            ).fetchone()
        if row is None:
            raise NotFound(f"no upload has the id {upload_id!r}")
        return _state(row)

    def update_upload(self, state: UploadState) -> None:
        with self.transaction() as conn:
            cur = conn.execute(
                "UPDATE blobstream_uploads SET length = %s, metadata = %s, expires = %s,"
                " completed_key = %s WHERE id = %s",
                (
                    state.length,
                    Jsonb(state.metadata),
                    state.expires,
                    state.completed_key,
                    state.upload_id,
                ),
            )
            if cur.rowcount == 0:
                raise NotFound(f"no upload has the id {state.upload_id!r}")

    def append_upload(self, upload_id: str, offset: int) -> PostgresAppender:
        return PostgresAppender(self, upload_id, offset)  # type: ignore[arg-type]

    def read_upload(self, upload_id: str, start: int = 0) -> Iterator[bytes]:
        """The upload's bytes, or a final upload's partial uploads' one after the other,
        all read in one snapshot."""
        conn = self.getconn()
        try:
            with mapped_errors():
                conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                row = conn.execute(
                    'SELECT loid, "offset", parts FROM blobstream_uploads WHERE id = %s',
                    (upload_id,),
                ).fetchone()
                if row is None:
                    raise NotFound(f"no upload has the id {upload_id!r}")
                spans: list[tuple[Any, int]] = [(row[0], int(row[1]))]
                if row[2]:
                    spans = []
                    for part in row[2]:
                        found = conn.execute(
                            'SELECT loid, "offset" FROM blobstream_uploads WHERE id = %s', (part,)
                        ).fetchone()
                        if found is None:
                            raise NotFound(f"the partial upload {part!r} is gone")
                        spans.append((found[0], int(found[1])))
                base = 0
                for loid, size in spans:
                    if base + size > start:
                        if loid is None:
                            raise NotFound(f"no upload with bytes has the id {upload_id!r}")
                        yield from _read_lo(conn, int(loid), max(start - base, 0), size)
                    base += size
        finally:
            with contextlib.suppress(psycopg.Error):
                conn.rollback()
            self.putconn(conn)

    def complete_upload(self, upload_id: str, key: str, commit: Commit) -> tuple[BlobInfo, bool]:
        from blobstream.storage.postgres import commit_version

        with self.transaction() as conn:
            self._lock_now(conn, upload_id)
            row = conn.execute(
                "SELECT loid, parts, completed_key FROM blobstream_uploads WHERE id = %s"
                " FOR UPDATE",
                (upload_id,),
            ).fetchone()
            if row is None:
                raise NotFound(f"no upload has the id {upload_id!r}")
            loid, parts, completed = row
            if completed is not None:
                raise Conflict(f"the upload {upload_id} already became the blob {completed!r}")
            if parts:
                loid = self._concatenate(conn, list(parts))
            result = commit_version(conn, key, int(loid), commit, hooks=self.tx_hooks)
            conn.execute(
                'UPDATE blobstream_uploads SET loid = NULL, completed_key = %s, "offset" = %s'
                " WHERE id = %s",
                (key, commit.size, upload_id),
            )
        return result

    def _concatenate(self, conn: Conn, parts: list[str]) -> int:
        loid = int(_scalar(conn, "SELECT lo_create(0)"))
        fd = _scalar(conn, "SELECT lo_open(%s, %s)", (loid, INV_WRITE))
        for part in parts:
            row = conn.execute(
                'SELECT loid, "offset", length FROM blobstream_uploads WHERE id = %s FOR SHARE',
                (part,),
            ).fetchone()
            if row is None or row[0] is None:
                raise Conflict(f"the partial upload {part!r} has no bytes to concatenate")
            if row[2] is None or row[1] != row[2]:
                raise Conflict(f"the partial upload {part!r} is not complete")
            conn.execute("SELECT blobstream_lo_append(%s, %s)", (fd, row[0]))
        conn.execute("SELECT lo_close(%s)", (fd,))
        return loid

    def _lock_now(self, conn: Conn, upload_id: str) -> None:
        if not _scalar(conn, "SELECT pg_try_advisory_xact_lock(%s)", (lock_key(upload_id),)):
            raise Locked(f"another request is appending to the upload {upload_id}")

    def delete_upload(self, upload_id: str) -> None:
        with self.transaction() as conn:
            self._lock_now(conn, upload_id)
            row = conn.execute(
                "DELETE FROM blobstream_uploads WHERE id = %s RETURNING loid", (upload_id,)
            ).fetchone()
            if row is None:
                raise NotFound(f"no upload has the id {upload_id!r}")
            if row[0] is not None:
                conn.execute("SELECT lo_unlink(%s)", (row[0],))

    def list_uploads(self, prefix: str, after: str = "", limit: int = 1000) -> list[UploadState]:
        with self.transaction() as conn:
            rows = conn.execute(
                f"SELECT {UPLOAD_COLUMNS} FROM blobstream_uploads"
                ' WHERE id COLLATE "C" >= %s AND id COLLATE "C" < %s AND id COLLATE "C" > %s'
                ' ORDER BY id COLLATE "C" LIMIT %s',
                (prefix, prefix + "\x7f", after, limit),
            ).fetchall()
        return [_state(row) for row in rows]

    def expired_uploads(self, now: float) -> Iterator[str]:
        after = ""
        while True:
            with self.transaction() as conn:
                ids = [
                    r[0]
                    for r in conn.execute(
                        "SELECT id FROM blobstream_uploads WHERE expires < %s AND id > %s"
                        " ORDER BY id LIMIT 1000",
                        (now, after),
                    )
                ]
            yield from ids
            if len(ids) < 1000:
                return
            after = ids[-1]
