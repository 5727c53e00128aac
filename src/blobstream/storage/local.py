"""The default backend: files on the local filesystem and a SQLite (WAL) index.

A new version is written to ``tmp/<pid>-<id>``, fsynced, hard-linked as
``data/<xx>/<id>`` and published by one index transaction that checks the
write condition and swaps the key; then the ``tmp`` name goes. Readers hold an
open file, so a replace or delete never tears what they read. Start-up removes
every orphan of a crash without walking the data directory: a ``tmp`` file of a
dead process names the data file it may have linked, and a small journal in the
index (``pending`` for files published from elsewhere, ``trash`` after a
replace) names the rest.
"""

from __future__ import annotations

import contextlib
import contextvars
import ctypes
import errno
import fcntl
import io
import json
import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, TypeVar

from blobstream.errors import NotFound, PreconditionFailed, StorageFull, StorageUnavailable
from blobstream.storage.keyrange import key_range
from blobstream.storage.local_uploads import LocalUploadsMixin
from blobstream.storage.protocol import (
    ALWAYS,
    BlobInfo,
    Buffer,
    Commit,
    WriteCondition,
)

SCHEMA = """
CREATE TABLE IF NOT EXISTS blobs (
    key BLOB PRIMARY KEY,
    file TEXT NOT NULL,
    size INTEGER NOT NULL,
    etag TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    content_type TEXT NOT NULL,
    mtime REAL NOT NULL,
    meta TEXT NOT NULL DEFAULT '{}'
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS pending (file TEXT PRIMARY KEY, pid INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS trash (file TEXT PRIMARY KEY);
"""

COLUMNS = "key, file, size, etag, sha256, content_type, mtime, meta"
_FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}


def storage_error(exc: BaseException) -> BaseException:
    """Map an OS or SQLite failure to the named error a client should see."""
    if isinstance(exc, OSError) and exc.errno in _FULL_ERRNOS:
        return StorageFull("the storage has no space left for this blob")
    if isinstance(exc, sqlite3.Error) and "full" in str(exc).lower():
        return StorageFull("the storage index has no space left")
    if isinstance(exc, OSError | sqlite3.Error):
        return StorageUnavailable(f"the storage failed: {exc.__class__.__name__}")
    return exc


def pid_alive(pid: int, since: float | None = None) -> bool:
    """Is ``pid`` a live process (started by ``since``, when given)?

    A worker killed with its master stays a zombie until init reaps it, and a
    pid may be reused after a reboot: neither owns files left by the dead one.
    """
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        boot = next(
            float(line.split()[1])
            for line in Path("/proc/stat").read_text().splitlines()
            if line.startswith("btime ")
        )
    except (OSError, IndexError, StopIteration, ValueError):
        return True  # no procfs: the signal's answer is all there is
    if fields[0] in ("Z", "X"):
        return False
    started = boot + int(fields[19]) / os.sysconf("SC_CLK_TCK")
    return since is None or started <= since + 1


# Start writing a new file's dirty pages to disk every this many bytes, so the
# fsync at commit waits only for the tail instead of for gigabytes at once
# (measured here: 2 GiB written and fsynced in 0.79 s instead of 1.16 s, median).
# Every 16 MiB rather than 64: a 64 MiB body then waits 6 ms at the fsync instead
# of 23 ms and is written 18 % sooner; steps of 4-8 MiB gained nothing more there.
# A smaller body starts its writeback sooner (a quarter of what it has written,
# at least 1 MiB): a 16 MiB body waited 7-9 ms at the fsync for all of itself,
# with steps of a quarter it waits about 2 ms for the last one.
WRITEBACK_STEP = 16 << 20
WRITEBACK_MIN = 1 << 20


def writeback_due(written: int, flushed: int) -> bool:
    """Whether bytes ``flushed..written`` of a new file are enough to start writing out."""
    return written - flushed >= min(WRITEBACK_STEP, max(WRITEBACK_MIN, written >> 2))


def _sync_file_range() -> Callable[[int, int, int], object] | None:
    """Linux ``sync_file_range(fd, offset, n, SYNC_FILE_RANGE_WRITE)``: start, never wait."""
    try:
        func = ctypes.CDLL(None, use_errno=True).sync_file_range
    except (OSError, AttributeError):
        return None
    func.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
    func.restype = ctypes.c_int
    return lambda fd, offset, length: func(fd, offset, length, 2)


start_writeback = _sync_file_range()


def write_back(fd: int, base: int, flushed: int, end: int) -> int:
    """Start writing out bytes ``flushed..end`` of a file written from ``base`` on when
    :func:`writeback_due` says so; the new ``flushed``. A hint only: the fsync at the
    end is what makes the data durable, and then it waits for the tail alone."""
    if start_writeback is not None and writeback_due(end - base, flushed - base):
        start_writeback(fd, flushed, end - flushed)
        return end
    return flushed


# With ``?direct=1``, whole blocks from a block-aligned buffer (the copy loop's
# pooled pieces) are written with O_DIRECT: no copy into the page cache and no page
# to allocate for it, which on this VM cost 0.3-2.7 CPU s/GiB (it swings with how
# long ago the guest last used the memory) against 0.1 for direct writes, at about
# the disk's rate (1.4-1.5 GiB/s here); big uploads do not evict what readers use.
# The price: a GET right after reads from disk, not memory (docs/BENCHMARKS.md).
# Anything else is written buffered.
DIRECT_BLOCK = 4096
_O_DIRECT = getattr(os, "O_DIRECT", 0)


def direct_ready(view: memoryview, offset: int) -> bool:
    """Whether ``view`` may go to disk with O_DIRECT at file ``offset``: whole blocks,
    at a block boundary, from a block-aligned (writable: page-pool) buffer."""
    if not _O_DIRECT or offset % DIRECT_BLOCK or view.nbytes % DIRECT_BLOCK or view.readonly:
        return False
    try:
        address = ctypes.addressof(ctypes.c_char.from_buffer(view))
    except (TypeError, ValueError):
        return False
    return address % DIRECT_BLOCK == 0


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _row_info(row: tuple[Any, ...]) -> BlobInfo:
    key, _file, size, etag, sha256, content_type, mtime, meta = row
    return BlobInfo(
        bytes(key).decode(),
        size,
        etag,
        sha256,
        content_type,
        mtime,
        json.loads(meta) if meta != "{}" else {},
    )


def _add_meta_column(db: sqlite3.Connection) -> None:
    """Indexes made before versions had metadata gain the column (empty for them)."""
    names = {row[1] for row in db.execute("PRAGMA table_info(blobs)")}
    if "meta" not in names:
        db.execute("ALTER TABLE blobs ADD COLUMN meta TEXT NOT NULL DEFAULT '{}'")


def _meta_text(meta: Mapping[str, str]) -> str:
    return json.dumps(dict(meta), separators=(",", ":"), sort_keys=True) if meta else "{}"


def open_no_symlink(path: Path | str) -> int:
    """Open a data file for reading, refusing a symlink planted as the file or its directory.

    A link put in the data directory must not make the server read outside its root.
    """
    parent_path, _, name = str(path).rpartition("/")
    nofollow = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC
    parent = os.open(parent_path, nofollow | os.O_DIRECTORY)
    try:
        return os.open(name, nofollow, dir_fd=parent)
    finally:
        os.close(parent)


def refuse_symlinks(*paths: Path) -> None:
    """The store's own directories must be real ones: a link could lead writes outside."""
    for path in paths:
        if path.is_symlink():
            raise OSError(errno.ELOOP, "a symbolic link where a directory belongs", str(path))


class LocalReader(io.FileIO):
    """An open version of a blob: a real file, so servers can ``sendfile`` it."""

    info: BlobInfo


T = TypeVar("T")


class _Change:
    """One writer's change waiting for a group commit (:meth:`LocalStore._commit`)."""

    __slots__ = ("change", "context", "done", "error", "result")

    def __init__(self, change: Callable[[sqlite3.Connection], Any], context: contextvars.Context):
        self.change = change
        self.context = context
        self.done = False
        self.error: BaseException | None = None
        self.result: Any = None


class LocalWriter:
    """A new version in a temporary file; see :class:`LocalStore` for the commit."""

    def __init__(self, store: LocalStore, key: str) -> None:
        self.store = store
        self.key = key
        self.id = uuid.uuid4().hex
        self.tmp = store.tmp_dir / f"{os.getpid()}-{self.id}"
        self.final = store.data_path(self.id)
        self.written = self.flushed = 0
        self._direct = False  # the file is open with O_DIRECT now
        self._can_direct = store.direct  # until the filesystem says otherwise
        try:
            self.file: io.FileIO | None = io.FileIO(self.tmp, "xb")
        except OSError as exc:
            raise storage_error(exc) from exc

    def write(self, data: Buffer) -> None:
        assert self.file is not None, "write after commit or abort"
        view = memoryview(data).cast("B")
        direct = self._can_direct and direct_ready(view, self.written)
        self.written += view.nbytes
        try:
            if direct != self._direct:
                self._set_direct(direct)
            while view:
                try:
                    n = self.file.write(view)
                except OSError as exc:
                    if not self._direct or exc.errno != errno.EINVAL:
                        raise
                    self._can_direct = False  # refused after all (a short write): buffered
                    self._set_direct(False)
                    continue
                view = view[n or 0 :]
        except OSError as exc:
            raise storage_error(exc) from exc
        if self._direct:
            self.flushed = self.written  # nothing of it waits in the page cache
        else:
            self.flushed = write_back(self.file.fileno(), 0, self.flushed, self.written)

    def _set_direct(self, on: bool) -> None:
        assert self.file is not None
        fd = self.file.fileno()
        flags = fcntl.fcntl(fd, fcntl.F_GETFL)
        try:
            fcntl.fcntl(fd, fcntl.F_SETFL, (flags | _O_DIRECT) if on else (flags & ~_O_DIRECT))
        except OSError as exc:
            if not on or exc.errno != errno.EINVAL:
                raise
            self._can_direct = False  # a filesystem without O_DIRECT (tmpfs before 6.6)
            return
        self._direct = on

    def commit(self, commit: Commit) -> tuple[BlobInfo, bool]:
        assert self.file is not None, "commit after commit or abort"
        try:
            os.fsync(self.file.fileno())
            self.file.close()
            self.file = None
        except OSError as exc:
            raise storage_error(exc) from exc
        return self.store._publish(self.key, self.id, self.tmp, commit, from_tmp=True)

    def abort(self) -> None:
        if self.file is not None:
            self.file.close()
            self.file = None
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.tmp)


class LocalStore(LocalUploadsMixin):
    """``file:///path``: blobs as files, an SQLite index of keys (module docstring)."""

    def __init__(
        self,
        root: str | os.PathLike[str],
        url: str | None = None,
        *,
        create: bool = True,
        direct: bool = False,
    ) -> None:
        """Open the store at ``root``; with ``create`` make the directory if it is missing.

        ``direct`` (``file:///path?direct=1``): write bodies to disk with O_DIRECT
        where they come in whole aligned blocks (:data:`DIRECT_BLOCK`).

        Without ``create`` (gunicorn workers: the server made it at start) a missing
        directory is an unavailable store, opened once it is back, never a new empty
        one made in its place (an unmounted disk, a renamed directory).
        """
        self.root = Path(root).resolve()
        self.url = url or self.root.as_uri()
        self.direct = direct  # honoured where O_DIRECT exists (direct_ready)
        self.tmp_dir = self.root / "tmp"
        self.data_dir = self.root / "data"
        self._data_str = str(self.data_dir)
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        # Called in each commit's and delete's transaction with (tx, key, old, new):
        # the event outbox and quota counters change atomically with the key.
        self.tx_hooks: list[
            Callable[[sqlite3.Connection, str, BlobInfo | None, BlobInfo | None], None]
        ] = []
        self._ready = False
        self._init_lock = threading.Lock()
        self._write_mutex = threading.Lock()
        self._queue_lock = threading.Lock()
        self._queue: list[_Change] = []
        self._lock_fd: tuple[int, int] | None = None  # (pid, fd): an flock is per process
        if create:
            self._open()
        elif self.root.is_dir():
            with contextlib.suppress(StorageUnavailable):
                self._open()  # gone again meanwhile: opened on first use once it is back

    def _open(self) -> None:
        """Make the layout and the schema, and remove what a crash left; once."""
        with self._init_lock:
            if self._ready:
                return
            self._ready = True  # the index connection below must not come back here
            try:
                self.tmp_dir.mkdir(parents=True, exist_ok=True)
                for i in range(256):
                    (self.data_dir / f"{i:02x}").mkdir(parents=True, exist_ok=True)
                refuse_symlinks(
                    self.tmp_dir, self.data_dir, *(self.data_dir / f"{i:02x}" for i in range(256))
                )
                self._db().executescript(SCHEMA)
                _add_meta_column(self._db())
                self.recover()
            except (OSError, sqlite3.Error) as exc:
                self._ready = False
                raise StorageUnavailable(f"cannot open the storage at {self.root}: {exc}") from exc
            except BaseException:
                self._ready = False
                raise

    # -- index connections: one per thread, WAL, generous busy timeout ---------

    def _db(self) -> sqlite3.Connection:
        if not self._ready:
            if not self.root.is_dir():
                raise StorageUnavailable("the storage directory is missing")
            self._open()
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(
                self.root / "index.sqlite3",
                isolation_level=None,
                check_same_thread=False,
                timeout=60,
            )
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
            with self._lock:
                self._connections.append(conn)
        return conn

    @contextlib.contextmanager
    def _writing(self) -> Iterator[None]:
        """One index writer at a time, woken the moment the lock is free.

        Threads of a process queue on a mutex and processes on an ``flock`` of
        ``index.lock``: SQLite's own busy handler polls with sleeps of up to
        100 ms, which under many small writes cost more than the writes.
        """
        with self._write_mutex, self._index_flock():
            yield

    @contextlib.contextmanager
    def _index_flock(self) -> Iterator[None]:
        fd = self._lock_file()
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)

    def _commit(self, change: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``change(tx)`` in a durable write transaction shared with this process's
        concurrent writers (group commit); return what it returns or raise what it raised.

        Each writer queues its change; whoever then holds the write mutex commits
        every queued change in one transaction, each in its own savepoint so one
        failed precondition undoes only its own change, and runs it in its writer's
        context (Flask's request, for the hooks). Each writer then syncs the WAL
        itself: the first sync flushes the batch, the rest find it on disk.
        """
        item = _Change(change, contextvars.copy_context())
        with self._queue_lock:
            self._queue.append(item)
        with self._write_mutex:
            if not item.done:
                with self._queue_lock:
                    batch, self._queue = self._queue, []
                self._commit_batch(batch)
        if item.error is not None:
            raise item.error
        self._sync_index()
        return item.result  # type: ignore[no-any-return]

    def _commit_batch(self, batch: list[_Change]) -> None:
        db = self._db()
        try:
            with self._index_flock(), self._begun(db):
                for item in batch:
                    db.execute("SAVEPOINT change")
                    try:
                        item.result = item.context.run(item.change, db)
                    except Exception as exc:
                        db.execute("ROLLBACK TO change")
                        item.error = storage_error(exc)
                    db.execute("RELEASE change")
        except BaseException as exc:
            failure = storage_error(exc)
            for item in batch:
                if item.error is None:
                    item.error = failure
            if not isinstance(exc, Exception):
                raise
        finally:
            for item in batch:
                item.done = True

    @staticmethod
    @contextlib.contextmanager
    def _begun(db: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` … ``COMMIT``, rolled back on any failure."""
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def _lock_file(self) -> int:
        pid = os.getpid()
        if self._lock_fd is None or self._lock_fd[0] != pid:
            # A forked child must not share its parent's open file (and so its lock).
            fd = os.open(self.root / "index.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            self._lock_fd = (pid, fd)
        return self._lock_fd[1]

    @contextlib.contextmanager
    def _transaction(self, durable: bool = True) -> Iterator[sqlite3.Connection]:
        """A write transaction; ``durable``: on disk before this returns.

        Every connection commits with ``synchronous=NORMAL`` (no fsync while the
        write lock is held) and a durable transaction then syncs the WAL outside
        it: concurrent writers share one flush, a group commit.
        """
        db = self._db()
        try:
            with self._writing(), self._begun(db):
                yield db
        except (OSError, sqlite3.Error) as exc:
            raise storage_error(exc) from exc
        if durable:
            self._sync_index()

    def _sync_index(self) -> None:
        """Flush the index's WAL (the commits so far) to disk, as ``synchronous=FULL`` would."""
        try:
            try:
                fd = os.open(self.root / "index.sqlite3-wal", os.O_RDONLY | os.O_CLOEXEC)
            except FileNotFoundError:  # not in WAL mode (a filesystem without shared memory)
                fd = os.open(self.root / "index.sqlite3", os.O_RDONLY | os.O_CLOEXEC)
            try:
                os.fdatasync(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            raise storage_error(exc) from exc

    def data_path(self, file_id: str) -> Path:
        return self.data_dir / file_id[:2] / file_id

    # -- BlobStore ----------------------------------------------------------------

    def begin_write(self, key: str) -> LocalWriter:
        return LocalWriter(self, key)

    def _current(self, db: sqlite3.Connection, key: str) -> tuple[BlobInfo, str] | None:
        row = db.execute(
            f"SELECT {COLUMNS} FROM blobs WHERE key = ?",
            (key.encode(),),
        ).fetchone()
        return None if row is None else (_row_info(row), row[1])

    def _publish(
        self,
        key: str,
        file_id: str,
        source: Path,
        commit: Commit,
        *,
        keep_source: bool = False,
        from_tmp: bool = False,
        also: Callable[[sqlite3.Connection], None] | None = None,
    ) -> tuple[BlobInfo, bool]:
        """Move (or, with ``keep_source``, hard-link) ``source`` to the data file of
        ``file_id``, then swap the key in one transaction that also runs ``also``.

        A linked source stays until the commit, so a crash before it loses nothing:
        start-up removes the unpublished link and the source can be published again.
        ``from_tmp``: ``source`` is ``tmp/<pid>-<file_id>``; it is linked and needs no
        journal row, since its name tells start-up which data file to check.
        """
        info = BlobInfo(
            key, commit.size, file_id, commit.sha256, commit.content_type, time.time(),
            dict(commit.meta),
        )  # fmt: skip
        final = self.data_path(file_id)
        keep_source = keep_source or from_tmp
        try:
            if not from_tmp:
                with self._transaction(durable=False) as tx:
                    tx.execute(
                        "INSERT INTO pending (file, pid) VALUES (?, ?)", (file_id, os.getpid())
                    )
            if keep_source:
                os.link(source, final)
            else:
                os.rename(source, final)
            fsync_dir(final.parent)
        except (OSError, sqlite3.Error) as exc:
            self._forget_pending(file_id, journal=not from_tmp)
            raise storage_error(exc) from exc

        def swap(tx: sqlite3.Connection) -> tuple[BlobInfo, str] | None:
            current = self._swap(tx, info, commit.condition)
            if also is not None:
                also(tx)
            return current

        try:
            current = self._commit(swap)
        except BaseException:
            self._forget_pending(file_id, journal=not from_tmp)
            raise
        if keep_source:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(source)
        if current is not None:
            self._empty_trash(current[1])
        return info, current is None

    def _swap(
        self, tx: sqlite3.Connection, info: BlobInfo, condition: WriteCondition
    ) -> tuple[BlobInfo, str] | None:
        """Inside a transaction: check ``condition``, point the key at the journalled
        file ``info.etag``, trash the old file, run the hooks; return what was there."""
        current = self._current(tx, info.key)
        condition.check(current[0] if current else None)
        tx.execute(
            "INSERT OR REPLACE INTO blobs VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (info.key.encode(), info.etag, info.size, info.etag, info.sha256,
             info.content_type, info.last_modified, _meta_text(info.meta)),
        )  # fmt: skip
        tx.execute("DELETE FROM pending WHERE file = ?", (info.etag,))
        if current is not None:
            tx.execute("INSERT OR IGNORE INTO trash (file) VALUES (?)", (current[1],))
        for hook in self.tx_hooks:
            hook(tx, info.key, current[0] if current else None, info)
        return current

    def _forget_pending(self, file_id: str, journal: bool = True) -> None:
        """Undo a publish that did not commit: the renamed file and its journal row."""
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.data_path(file_id))
        if not journal:
            return
        with contextlib.suppress(sqlite3.Error, StorageFull, StorageUnavailable):
            with self._transaction(durable=False) as tx:
                tx.execute("DELETE FROM pending WHERE file = ?", (file_id,))

    def _empty_trash(self, file_id: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.data_path(file_id))
        with contextlib.suppress(sqlite3.Error, StorageFull, StorageUnavailable):
            with self._transaction(durable=False) as tx:
                tx.execute("DELETE FROM trash WHERE file = ?", (file_id,))

    def stat(self, key: str) -> BlobInfo:
        try:
            current = self._current(self._db(), key)
        except sqlite3.Error as exc:
            raise storage_error(exc) from exc
        if current is None:
            raise NotFound(f"no blob has the key {key!r}")
        return current[0]

    def open(self, key: str) -> LocalReader:
        for _ in range(10):
            try:
                current = self._current(self._db(), key)
            except sqlite3.Error as exc:
                raise storage_error(exc) from exc
            if current is None:
                raise NotFound(f"no blob has the key {key!r}")
            try:
                file_id = current[1]
                path = f"{self._data_str}/{file_id[:2]}/{file_id}"  # no pathlib: a hot path
                reader = LocalReader(path, "rb", opener=lambda p, _: open_no_symlink(p))
            except FileNotFoundError:
                continue  # replaced between the lookup and the open: look again
            except OSError as exc:
                raise storage_error(exc) from exc
            reader.info = current[0]
            return reader
        raise StorageUnavailable(f"the blob {key!r} is being replaced too often to be read")

    def delete(self, key: str, condition: WriteCondition = ALWAYS) -> BlobInfo:
        def remove(tx: sqlite3.Connection) -> tuple[BlobInfo, str]:
            current = self._current(tx, key)
            if current is None:
                raise NotFound(f"no blob has the key {key!r}")
            condition.check(current[0])
            tx.execute("DELETE FROM blobs WHERE key = ?", (key.encode(),))
            tx.execute("INSERT OR IGNORE INTO trash (file) VALUES (?)", (current[1],))
            for hook in self.tx_hooks:
                hook(tx, key, current[0], None)
            return current

        current = self._commit(remove)
        self._empty_trash(current[1])
        return current[0]

    def list(self, prefix: str = "", after: str = "", limit: int = 1000) -> list[BlobInfo]:
        where, args = key_range(prefix, after)
        query = f"SELECT {COLUMNS} FROM blobs WHERE {where} ORDER BY key LIMIT ?"
        args.append(limit)
        try:
            return [_row_info(row) for row in self._db().execute(query, args)]
        except sqlite3.Error as exc:
            raise storage_error(exc) from exc

    def ping(self) -> None:
        try:
            self._db().execute("SELECT 1 FROM blobs LIMIT 1").fetchall()
            if not self.tmp_dir.is_dir():
                raise FileNotFoundError(self.tmp_dir)
        except (OSError, sqlite3.Error) as exc:
            # /healthz is open to anyone: say what failed, not where the data lives.
            raise StorageUnavailable("the local storage does not answer") from exc

    def recover(self) -> None:
        """Remove what crashed writers left: temporary files, unpublished renames, trash."""
        for entry in os.scandir(self.tmp_dir):
            pid, _, _ = entry.name.partition("-")
            try:
                written = entry.stat().st_mtime
            except FileNotFoundError:
                continue  # another process recovered it
            if not pid.isdigit() or not pid_alive(int(pid), written):
                self._forget_linked(entry.name.partition("-")[2])
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(entry.path)
        db = self._db()
        for file_id, pid in db.execute("SELECT file, pid FROM pending").fetchall():
            if pid_alive(pid):
                continue
            referenced = db.execute("SELECT 1 FROM blobs WHERE file = ?", (file_id,)).fetchone()
            if not referenced:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(self.data_path(file_id))
            db.execute("DELETE FROM pending WHERE file = ?", (file_id,))
        for (file_id,) in db.execute("SELECT file FROM trash").fetchall():
            self._empty_trash(file_id)

    def _forget_linked(self, file_id: str) -> None:
        """A dead writer's ``tmp`` file may have been linked into ``data``: remove that
        link unless the index took it."""
        if len(file_id) != 32 or not all(c in "0123456789abcdef" for c in file_id):
            return
        referenced = self._db().execute("SELECT 1 FROM blobs WHERE file = ?", (file_id,))
        if referenced.fetchone() is None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.data_path(file_id))

    def close(self) -> None:
        with self._lock:
            for conn in self._connections:
                with contextlib.suppress(sqlite3.Error):
                    conn.close()
            self._connections.clear()
        self._local = threading.local()
        if self._lock_fd is not None and self._lock_fd[0] == os.getpid():
            with contextlib.suppress(OSError):
                os.close(self._lock_fd[1])
        self._lock_fd = None

    # -- CopyStore, MoveStore: data files never change once published -------------

    def _copy_source(
        self, db: sqlite3.Connection, key: str, etag: str | None
    ) -> tuple[BlobInfo, str]:
        current = self._current(db, key)
        if current is None:
            raise NotFound(f"no blob has the key {key!r}")
        if etag is not None and current[0].etag != etag:
            raise PreconditionFailed("the copy source has another version")
        return current

    def copy_blob(
        self,
        src_key: str,
        dst_key: str,
        *,
        source_etag: str | None,
        condition: WriteCondition,
        meta: Mapping[str, str] | None = None,
        content_type: str | None = None,
    ) -> tuple[BlobInfo, bool]:
        """A hard link to the source's data file, published as ``dst_key``: no byte is copied.

        The link is journalled as pending like any new file, so a crash leaves no orphan;
        the source may be replaced meanwhile, its linked version stays whole.
        """
        for _ in range(10):
            try:
                info, src_file = self._copy_source(self._db(), src_key, source_etag)
            except sqlite3.Error as exc:
                raise storage_error(exc) from exc
            file_id = uuid.uuid4().hex
            final = self.data_path(file_id)
            try:
                self._db().execute(
                    "INSERT INTO pending (file, pid) VALUES (?, ?)", (file_id, os.getpid())
                )
                os.link(self.data_path(src_file), final)
                fsync_dir(final.parent)
            except FileNotFoundError:
                self._forget_pending(file_id)
                continue  # replaced between the lookup and the link: look again
            except (OSError, sqlite3.Error) as exc:
                self._forget_pending(file_id)
                raise storage_error(exc) from exc
            new = BlobInfo(
                dst_key, info.size, file_id, info.sha256, content_type or info.content_type,
                time.time(), dict(info.meta if meta is None else meta),
            )  # fmt: skip
            try:
                with self._transaction() as tx:
                    current = self._swap(tx, new, condition)
            except BaseException:
                self._forget_pending(file_id)
                raise
            if current is not None:
                self._empty_trash(current[1])
            return new, current is None
        raise StorageUnavailable(f"the blob {src_key!r} is being replaced too often to be copied")

    def move_blob(
        self, src_key: str, dst_key: str, *, source_etag: str | None, condition: WriteCondition
    ) -> tuple[BlobInfo, bool]:
        """One index transaction points ``dst_key`` at the source's data file and drops
        ``src_key``: no byte moves, and no reader ever sees both or neither."""
        with self._transaction() as tx:
            info, src_file = self._copy_source(tx, src_key, source_etag)
            current = self._current(tx, dst_key)
            condition.check(current[0] if current else None)
            new = BlobInfo(
                dst_key, info.size, uuid.uuid4().hex, info.sha256, info.content_type, time.time(),
                info.meta,
            )  # fmt: skip
            tx.execute(
                "INSERT OR REPLACE INTO blobs VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (dst_key.encode(), src_file, new.size, new.etag, new.sha256,
                 new.content_type, new.last_modified, _meta_text(new.meta)),
            )  # fmt: skip
            tx.execute("DELETE FROM blobs WHERE key = ?", (src_key.encode(),))
            if current is not None:
                tx.execute("INSERT OR IGNORE INTO trash (file) VALUES (?)", (current[1],))
            for hook in self.tx_hooks:
                hook(tx, dst_key, current[0] if current else None, new)
                hook(tx, src_key, info, None)
        if current is not None:
            self._empty_trash(current[1])
        return new, current is None
