"""Resumable uploads (:class:`~blobstream.storage.protocol.UploadStore`) for the local backend.

An upload's bytes live in ``uploads/<id>``; its state is one row of the
``uploads`` table in the SQLite index, so any process on the same directory
continues any upload and a restart loses nothing. An append holds
``flock(LOCK_EX | LOCK_NB)`` on the file (busy → ``Locked``), checks the offset
(→ ``Conflict``) and first cuts the file back to the recorded offset: bytes a
killed process wrote but never recorded are not trusted. ``close()`` fsyncs and
records the new offset. Completion renames the file into the blob data (no
copy) and publishes it in the same index transaction that marks the upload
completed; a final concatenation joins its parts with ``copy_file_range``.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from blobstream.errors import Conflict, Locked, NotFound
from blobstream.storage.protocol import BlobInfo, Buffer, Commit, UploadState

if TYPE_CHECKING:
    from blobstream.storage.local import LocalStore

UPLOADS_SCHEMA = """
CREATE TABLE IF NOT EXISTS uploads (
    id TEXT PRIMARY KEY,
    offset INTEGER NOT NULL,
    length INTEGER,
    metadata TEXT NOT NULL,
    created REAL NOT NULL,
    expires REAL,
    partial INTEGER NOT NULL,
    parts TEXT NOT NULL,
    completed_key TEXT
);
CREATE INDEX IF NOT EXISTS uploads_expires ON uploads (expires) WHERE expires IS NOT NULL;
"""

_COLUMNS = "id, offset, length, metadata, created, expires, partial, parts, completed_key"
READ_SIZE = 1 << 20


def _state(row: tuple[Any, ...]) -> UploadState:
    upload_id, offset, length, metadata, created, expires, partial, parts, key = row
    return UploadState(
        upload_id=upload_id,
        offset=offset,
        length=length,
        metadata=json.loads(metadata),
        created=created,
        expires=expires,
        partial=bool(partial),
        parts=tuple(json.loads(parts)),
        completed_key=key,
    )


def _lock(fd: int, what: str) -> None:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError as exc:
        raise Locked(f"{what} is busy with another request; retry later") from exc


_UPLOAD_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


@dataclass
class _Published:
    """What :meth:`LocalStore._forget_pending` and the publish need to know of a file."""

    id: str
    tmp: Path
    final: Path


class LocalAppender:
    """Appends to ``uploads/<id>`` while holding its lock; see the module docstring."""

    def __init__(self, store: LocalUploadsMixin, upload_id: str, fd: int, offset: int) -> None:
        self.store = store
        self.upload_id = upload_id
        self.fd = fd
        self.start = offset
        self.offset = offset
        self.flushed = offset  # writeback started up to here
        self._closed = False

    def write(self, data: Buffer) -> None:
        from blobstream.storage.local import storage_error, write_back

        view = memoryview(data)
        try:
            while view:
                n = os.write(self.fd, view)
                self.offset += n
                view = view[n:]
        except OSError as exc:
            raise storage_error(exc) from exc
        # As a blob's writer does: close() then waits for the tail, not the whole PATCH.
        self.flushed = write_back(self.fd, self.start, self.flushed, self.offset)

    def discard(self) -> None:
        os.ftruncate(self.fd, self.start)
        os.lseek(self.fd, self.start, os.SEEK_SET)
        self.offset = self.flushed = self.start

    def close(self) -> int:
        from blobstream.storage.local import storage_error

        if self._closed:
            return self.offset
        self._closed = True
        try:
            if self.offset != self.start:
                os.fsync(self.fd)
                with self.store._uploads_tx() as tx:
                    tx.execute(
                        "UPDATE uploads SET offset = ? WHERE id = ?", (self.offset, self.upload_id)
                    )
        except OSError as exc:
            raise storage_error(exc) from exc
        finally:
            os.close(self.fd)  # also releases the flock
        return self.offset


class LocalUploadsMixin:
    """The :class:`UploadStore` half of :class:`~blobstream.storage.local.LocalStore`."""

    _uploads_ready: bool = False
    _uploads_init = threading.Lock()

    # -- plumbing ------------------------------------------------------------------

    def _store(self) -> LocalStore:
        return self  # type: ignore[return-value]

    @property
    def uploads_dir(self) -> Path:
        return self._store().root / "uploads"

    def upload_path(self, upload_id: str) -> Path:
        # Ids become file names: letters, digits, '-' and '_' only, so never a path.
        if not _UPLOAD_ID.fullmatch(upload_id):
            raise NotFound(f"no upload has the id {upload_id!r}")
        return self.uploads_dir / upload_id

    def _uploads_db(self) -> sqlite3.Connection:
        store = self._store()
        if not self._uploads_ready:
            with self._uploads_init:
                if not self._uploads_ready:
                    try:
                        self.uploads_dir.mkdir(exist_ok=True)
                        store._db().executescript(UPLOADS_SCHEMA)
                    except (OSError, sqlite3.Error) as exc:
                        from blobstream.storage.local import storage_error

                        raise storage_error(exc) from exc
                    self._uploads_ready = True
        return store._db()

    @contextlib.contextmanager
    def _uploads_tx(self) -> Iterator[sqlite3.Connection]:
        self._uploads_db()
        with self._store()._transaction() as tx:
            yield tx

    def _upload_row(self, db: sqlite3.Connection, upload_id: str) -> UploadState:
        row = db.execute(f"SELECT {_COLUMNS} FROM uploads WHERE id = ?", (upload_id,)).fetchone()
        if row is None:
            raise NotFound(f"no upload has the id {upload_id!r}")
        return _state(row)

    # -- UploadStore -----------------------------------------------------------------

    def create_upload(self, state: UploadState) -> UploadState:
        from blobstream.storage.local import storage_error

        path = self.upload_path(state.upload_id)
        self._uploads_db()
        if not state.parts:
            try:
                with open(path, "xb") as f:
                    os.fsync(f.fileno())
            except OSError as exc:
                raise storage_error(exc) from exc
        with self._uploads_tx() as tx:
            tx.execute(
                f"INSERT INTO uploads ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    state.upload_id,
                    state.offset,
                    state.length,
                    json.dumps(state.metadata),
                    state.created or time.time(),
                    state.expires,
                    int(state.partial),
                    json.dumps(list(state.parts)),
                    state.completed_key,
                ),
            )
        return self.get_upload(state.upload_id)

    def get_upload(self, upload_id: str) -> UploadState:
        from blobstream.storage.local import storage_error

        try:
            return self._upload_row(self._uploads_db(), upload_id)
        except sqlite3.Error as exc:
            raise storage_error(exc) from exc

    def update_upload(self, state: UploadState) -> None:
        with self._uploads_tx() as tx:
            cursor = tx.execute(
                "UPDATE uploads SET length = ?, metadata = ?, expires = ?, completed_key = ?"
                " WHERE id = ?",
                (
                    state.length,
                    json.dumps(state.metadata),
                    state.expires,
                    state.completed_key,
                    state.upload_id,
                ),
            )
            if cursor.rowcount == 0:
                raise NotFound(f"no upload has the id {state.upload_id!r}")

    def append_upload(self, upload_id: str, offset: int) -> LocalAppender:
        from blobstream.storage.local import storage_error

        path = self.upload_path(upload_id)
        try:
            fd = os.open(path, os.O_WRONLY)
        except FileNotFoundError as exc:
            self.get_upload(upload_id)  # NotFound when there is no such upload
            raise Conflict(f"the upload {upload_id} takes no more bytes") from exc
        except OSError as exc:
            raise storage_error(exc) from exc
        try:
            _lock(fd, f"the upload {upload_id}")
            current = self.get_upload(upload_id)
            if current.offset != offset:
                raise Conflict(
                    f"Upload-Offset {offset} is not the upload's offset {current.offset}"
                )
            os.ftruncate(fd, offset)  # drop bytes a killed writer never recorded
            os.lseek(fd, offset, os.SEEK_SET)
        except BaseException:
            os.close(fd)
            raise
        return LocalAppender(self, upload_id, fd, offset)

    def read_upload(self, upload_id: str, start: int = 0) -> Iterator[bytes]:
        state = self.get_upload(upload_id)
        if not state.parts:
            return self._read_files([(self.upload_path(upload_id), state.offset)], start)
        parts = [(self.upload_path(p), self.get_upload(p).offset) for p in state.parts]
        return self._read_files(parts, start)

    def _read_files(self, files: list[tuple[Path, int]], start: int) -> Iterator[bytes]:
        """The first ``size`` bytes of each file, one after the other, from ``start``."""
        base = 0
        for path, size in files:
            if base + size > start:
                with open(path, "rb") as f:
                    position = max(start, base)
                    f.seek(position - base)
                    while position < base + size:
                        piece = f.read(min(READ_SIZE, base + size - position))
                        if not piece:
                            raise Conflict(f"the upload file {path.name} is shorter than recorded")
                        position += len(piece)
                        yield piece
            base += size

    def complete_upload(self, upload_id: str, key: str, commit: Commit) -> tuple[BlobInfo, bool]:
        from blobstream.storage.local import fsync_dir, storage_error

        store = self._store()
        state = self.get_upload(upload_id)
        if state.completed_key is not None:
            return store.stat(state.completed_key), False
        path = self.upload_path(upload_id)
        file_id = uuid.uuid4().hex
        if state.parts:
            source = self._join(state.parts, file_id)
            lock_fd = None
        else:
            source = path
            try:
                lock_fd = os.open(path, os.O_RDONLY)
            except FileNotFoundError as exc:
                raise Locked(f"the upload {upload_id} is being completed") from exc
            except OSError as exc:
                raise storage_error(exc) from exc
        try:
            if lock_fd is not None:
                _lock(lock_fd, f"the upload {upload_id}")
                if os.fstat(lock_fd).st_size != commit.size:
                    raise Conflict(f"the upload {upload_id} does not have {commit.size} bytes")
            return self._publish_upload(
                upload_id,
                key,
                _Published(file_id, source, store.data_path(file_id)),
                commit,
                joined=bool(state.parts),
            )
        except BaseException:
            if state.parts:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(source)
            raise
        finally:
            if lock_fd is not None:
                os.close(lock_fd)
            with contextlib.suppress(OSError):
                fsync_dir(self.uploads_dir)

    def _join(self, parts: tuple[str, ...], file_id: str) -> Path:
        """Concatenate the partial uploads into one temporary file, in the kernel."""
        from blobstream.storage.local import storage_error

        store = self._store()
        target = store.tmp_dir / f"{os.getpid()}-{file_id}"
        try:
            with open(target, "xb") as out:
                for part in parts:
                    size = self.get_upload(part).offset
                    with open(self.upload_path(part), "rb") as src:
                        remaining = size
                        while remaining > 0:
                            n = os.copy_file_range(src.fileno(), out.fileno(), remaining)
                            if n == 0:
                                break
                            remaining -= n
                os.fsync(out.fileno())
        except BaseException as exc:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(target)
            if isinstance(exc, OSError):
                raise storage_error(exc) from exc
            raise
        return target

    def _publish_upload(
        self, upload_id: str, key: str, file: _Published, commit: Commit, *, joined: bool
    ) -> tuple[BlobInfo, bool]:
        """Publish the bytes as the blob and mark the upload completed in one transaction.

        A single upload's file is hard-linked, not moved: a crash before the commit
        leaves the upload whole, to be completed again.
        """

        def mark_completed(tx: sqlite3.Connection) -> None:
            tx.execute("UPDATE uploads SET completed_key = ? WHERE id = ?", (key, upload_id))

        return self._store()._publish(
            key, file.id, file.tmp, commit, keep_source=not joined, also=mark_completed
        )

    def delete_upload(self, upload_id: str) -> None:
        path = self.upload_path(upload_id)
        fd: int | None = None
        with contextlib.suppress(FileNotFoundError):
            fd = os.open(path, os.O_RDONLY)
        try:
            if fd is not None:
                _lock(fd, f"the upload {upload_id}")
            with self._uploads_tx() as tx:
                cursor = tx.execute("DELETE FROM uploads WHERE id = ?", (upload_id,))
                if cursor.rowcount == 0:
                    raise NotFound(f"no upload has the id {upload_id!r}")
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
        finally:
            if fd is not None:
                os.close(fd)

    def list_uploads(self, prefix: str, after: str = "", limit: int = 1000) -> list[UploadState]:
        from blobstream.storage.local import storage_error

        try:
            rows = (
                self._uploads_db()
                .execute(
                    f"SELECT {_COLUMNS} FROM uploads WHERE id >= ? AND id < ? AND id > ?"
                    " ORDER BY id LIMIT ?",
                    (prefix, prefix + "\x7f", after, limit),
                )
                .fetchall()
            )
        except sqlite3.Error as exc:
            raise storage_error(exc) from exc
        return [_state(row) for row in rows]

    def expired_uploads(self, now: float) -> Iterator[str]:
        from blobstream.storage.local import storage_error

        try:
            rows = (
                self._uploads_db()
                .execute(
                    "SELECT id FROM uploads WHERE expires IS NOT NULL AND expires <= ?"
                    " ORDER BY expires LIMIT 1000",
                    (now,),
                )
                .fetchall()
            )
        except sqlite3.Error as exc:
            raise storage_error(exc) from exc
        return iter([upload_id for (upload_id,) in rows])
