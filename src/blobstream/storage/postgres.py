"""``postgresql://user@host/db``: blob data in large objects, metadata in a table.

A writer holds one connection and one transaction: ``lo_create``, then
``lowrite`` of each ~1 MiB piece (binary parameters), then — still in that
transaction — the key's row is locked (``SELECT … FOR UPDATE``), the write
condition checked, the row swapped to the new large object and the old one
unlinked. ``COMMIT`` publishes all of it at once; an abort (or a lost
connection) rolls back, which also drops the large object it created.

A reader opens a REPEATABLE READ, read-only transaction, looks the key up and
opens its large object in that snapshot: a replace or delete committed later
unlinks the object only for newer snapshots, so the reader keeps reading the
version it opened, never a torn one. The pool (``psycopg_pool``) is sized by
``?pool_max=`` (default 16, gunicorn's thread count); other query parameters
go to libpq.
"""

from __future__ import annotations

import contextlib
import io
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg
import psycopg_pool
from psycopg.types.json import Jsonb

from blobstream.errors import NotFound, PreconditionFailed, StorageUnavailable
from blobstream.storage.keyrange import key_range
from blobstream.storage.pg_schema import INV_READ, INV_WRITE, mapped_errors, migrate, storage_error
from blobstream.storage.pg_uploads import PostgresUploads
from blobstream.storage.protocol import ALWAYS, BlobInfo, Buffer, Commit, WriteCondition

Conn = psycopg.Connection[tuple[Any, ...]]
# Called in each commit's and delete's transaction with (conn, key, old, new): the
# quota counters and the event outbox change atomically with the key.
TxHook = Callable[[Conn, str, BlobInfo | None, BlobInfo | None], None]
COLUMNS = "key, loid, size, etag, sha256, content_type, mtime, meta"
CONNECT_TIMEOUT = 5
OWN_PARAMS = ("pool_min", "pool_max", "pool_timeout")


def row_info(row: tuple[Any, ...]) -> BlobInfo:
    key, _loid, size, etag, sha256, content_type, mtime, meta = row
    return BlobInfo(bytes(key).decode(), size, etag, sha256, content_type, mtime, meta or {})


def split_url(url: str) -> tuple[str, dict[str, str]]:
    """The libpq URL without blobstream's own query parameters, and those parameters."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    own = {k: v for k, v in query if k in OWN_PARAMS}
    rest = [(k, v) for k, v in query if k not in OWN_PARAMS]
    if not any(k == "connect_timeout" for k, _ in rest):
        rest.append(("connect_timeout", str(CONNECT_TIMEOUT)))
    scheme = "postgresql"
    return urlunsplit((scheme, parts.netloc, parts.path, urlencode(rest), "")), own


def _reset(conn: Conn) -> None:
    """A connection goes back to the pool holding no upload lock."""
    conn.execute("SELECT pg_advisory_unlock_all()")
    conn.commit()


def commit_version(
    conn: Conn,
    key: str,
    loid: int,
    commit: Commit,
    etag: str | None = None,
    hooks: Sequence[TxHook] = (),
) -> tuple[BlobInfo, bool]:
    """Swap ``key`` to large object ``loid`` in the open transaction (see module docstring)
    and run ``hooks``, which may refuse the change by raising."""
    info = BlobInfo(
        key=key,
        size=commit.size,
        etag=etag or uuid.uuid4().hex,
        sha256=commit.sha256,
        content_type=commit.content_type,
        last_modified=time.time(),
        meta=dict(commit.meta),
    )
    values = (
        loid, info.size, info.etag, info.sha256, info.content_type, info.last_modified,
        Jsonb(dict(info.meta)),
    )  # fmt: skip
    raw = key.encode()
    while True:
        row = conn.execute(
            f"SELECT {COLUMNS} FROM blobstream_blobs WHERE key = %b FOR UPDATE", (raw,)
        ).fetchone()
        commit.condition.check(row_info(row) if row else None)
        if row is None:
            inserted = conn.execute(
                "INSERT INTO blobstream_blobs VALUES (%b, %s, %s, %s, %s, %s, %s, %s)"
                " ON CONFLICT (key) DO NOTHING RETURNING 1",
                (raw, *values),
            ).fetchone()
            if inserted:
                for hook in hooks:
                    hook(conn, key, None, info)
                return info, True
            continue  # another writer created it meanwhile: check against that version
        conn.execute(
            "UPDATE blobstream_blobs SET loid = %s, size = %s, etag = %s, sha256 = %s,"
            " content_type = %s, mtime = %s, meta = %s WHERE key = %b",
            (*values, raw),
        )
        conn.execute("SELECT lo_unlink(%s)", (row[1],))
        for hook in hooks:
            hook(conn, key, row_info(row), info)
        return info, False


class PostgresWriter:
    """A new version in a large object of its own, invisible until :meth:`commit`."""

    def __init__(self, store: PostgresStore, key: str) -> None:
        self.store = store
        self.key = key
        self.conn: Conn | None = store.getconn()
        try:
            with mapped_errors():
                self.loid = int(_one(self.conn, "SELECT lo_create(0)"))
                self.fd = int(_one(self.conn, "SELECT lo_open(%s, %s)", (self.loid, INV_WRITE)))
        except BaseException:
            self.abort()
            raise

    def write(self, data: Buffer) -> None:
        assert self.conn is not None, "write after commit or abort"
        with mapped_errors():
            self.conn.execute("SELECT lowrite(%s, %b)", (self.fd, data))

    def commit(self, commit: Commit) -> tuple[BlobInfo, bool]:
        conn = self.conn
        assert conn is not None, "commit after commit or abort"
        with mapped_errors():
            conn.execute("SELECT lo_close(%s)", (self.fd,))
            result = commit_version(conn, self.key, self.loid, commit, hooks=self.store.tx_hooks)
            conn.commit()
        self.conn = None
        self.store.putconn(conn)
        return result

    def abort(self) -> None:
        conn, self.conn = self.conn, None
        if conn is not None:
            with contextlib.suppress(psycopg.Error):
                conn.rollback()
            self.store.putconn(conn)


class PostgresReader:
    """One version, read through its own snapshot (module docstring); not a real file."""

    def __init__(self, store: PostgresStore, key: str) -> None:
        self.store = store
        self.conn: Conn | None = store.getconn()
        self.pos = 0
        try:
            with mapped_errors():
                self.conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                row = self.conn.execute(
                    f"SELECT {COLUMNS} FROM blobstream_blobs WHERE key = %b", (key.encode(),)
                ).fetchone()
                if row is None:
                    raise NotFound(f"no blob has the key {key!r}")
                self.info = row_info(row)
                self.fd = int(_one(self.conn, "SELECT lo_open(%s, %s)", (row[1], INV_READ)))
        except BaseException:
            self.close()
            raise

    def read(self, size: int = -1, /) -> bytes:
        conn = self.conn
        if conn is None:
            raise ValueError("read of a closed blob")
        remaining = self.info.size - self.pos
        want = remaining if size is None or size < 0 else min(size, remaining)
        if want <= 0:
            return b""
        with mapped_errors():
            cur = conn.execute("SELECT loread(%s, %s)", (self.fd, want), binary=True)
            row = cur.fetchone()
        data = bytes(row[0]) if row else b""
        self.pos += len(data)
        return data

    def seek(self, offset: int, whence: int = 0, /) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.pos, io.SEEK_END: self.info.size}[whence]
        target = base + offset
        if target < 0:
            raise ValueError("negative seek position")
        if self.conn is None:
            raise ValueError("seek of a closed blob")
        with mapped_errors():
            self.conn.execute("SELECT lo_lseek64(%s, %s, 0)", (self.fd, target))
        self.pos = target
        return target

    def tell(self) -> int:
        return self.pos

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def close(self) -> None:
        conn, self.conn = self.conn, None
        if conn is not None:
            with contextlib.suppress(psycopg.Error):
                conn.rollback()
            self.store.putconn(conn)

    def __enter__(self) -> PostgresReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _one(conn: Conn, query: str, params: tuple[Any, ...] = ()) -> Any:
    row = conn.execute(query.encode(), params).fetchone()
    assert row is not None
    return row[0]


class PostgresStore(PostgresUploads):
    """``postgresql://``: see the module docstring."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.tx_hooks: list[TxHook] = []
        self.conninfo, own = split_url(url)
        try:
            pool_max = int(own.get("pool_max", 16))
            pool_min = int(own.get("pool_min", 1))
            self.timeout = float(own.get("pool_timeout", 10))
        except ValueError as exc:
            from blobstream.storage import InvalidStorageURL

            raise InvalidStorageURL(f"bad pool parameter in the storage URL: {exc}") from exc
        where = urlsplit(self.conninfo).netloc.rpartition("@")[2] or "the local socket"
        try:
            with psycopg.connect(self.conninfo) as conn:
                migrate(conn)
        except psycopg.Error as exc:
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise StorageUnavailable(f"cannot use PostgreSQL at {where}: {first}") from exc
        self.pool: psycopg_pool.ConnectionPool[Conn] = psycopg_pool.ConnectionPool(
            self.conninfo,
            min_size=pool_min,
            max_size=max(pool_max, pool_min),
            timeout=self.timeout,
            check=psycopg_pool.ConnectionPool.check_connection,
            reset=_reset,
            reconnect_timeout=3600 * 24 * 365,
            name="blobstream",
            open=True,
        )

    # -- connections ----------------------------------------------------------------

    def getconn(self) -> Conn:
        try:
            return self.pool.getconn()
        except (psycopg.Error, psycopg_pool.PoolTimeout) as exc:
            raise storage_error(exc) from exc

    def putconn(self, conn: Conn) -> None:
        with contextlib.suppress(psycopg.Error, psycopg_pool.PoolClosed):
            self.pool.putconn(conn)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Conn]:
        """A pooled connection in one transaction, committed on success."""
        with mapped_errors(), self.pool.connection() as conn:
            yield conn

    # -- BlobStore ----------------------------------------------------------------

    def begin_write(self, key: str) -> PostgresWriter:
        return PostgresWriter(self, key)

    def open(self, key: str) -> PostgresReader:
        return PostgresReader(self, key)

    def stat(self, key: str) -> BlobInfo:
        with self.transaction() as conn:
            row = conn.execute(
                f"SELECT {COLUMNS} FROM blobstream_blobs WHERE key = %b", (key.encode(),)
            ).fetchone()
        if row is None:
            raise NotFound(f"no blob has the key {key!r}")
        return row_info(row)

    def delete(self, key: str, condition: WriteCondition = ALWAYS) -> BlobInfo:
        with self.transaction() as conn:
            row = conn.execute(
                f"SELECT {COLUMNS} FROM blobstream_blobs WHERE key = %b FOR UPDATE",
                (key.encode(),),
            ).fetchone()
            if row is None:
                raise NotFound(f"no blob has the key {key!r}")
            info = row_info(row)
            condition.check(info)
            conn.execute("DELETE FROM blobstream_blobs WHERE key = %b", (key.encode(),))
            conn.execute("SELECT lo_unlink(%s)", (row[1],))
            for hook in self.tx_hooks:
                hook(conn, key, info, None)
        return info

    def list(self, prefix: str = "", after: str = "", limit: int = 1000) -> list[BlobInfo]:
        where, args = key_range(prefix, after, "%b")
        query = f"SELECT {COLUMNS} FROM blobstream_blobs WHERE {where} ORDER BY key LIMIT %s"
        args.append(limit)
        with self.transaction() as conn:
            return [row_info(row) for row in conn.execute(query.encode(), args)]

    def ping(self) -> None:
        try:
            with self.pool.connection(timeout=3) as conn:
                conn.execute("SELECT 1 FROM blobstream_blobs LIMIT 1").fetchall()
        except (psycopg.Error, psycopg_pool.PoolTimeout) as exc:
            raise StorageUnavailable("PostgreSQL does not answer") from exc

    def close(self) -> None:
        self.pool.close()

    # -- CopyStore, MoveStore: inside the database -----------------------------------

    def _copy_source(self, conn: Conn, key: str, etag: str | None) -> tuple[BlobInfo, int]:
        """The source's row, locked against a concurrent replace until the commit."""
        row = conn.execute(
            f"SELECT {COLUMNS} FROM blobstream_blobs WHERE key = %b FOR SHARE", (key.encode(),)
        ).fetchone()
        if row is None:
            raise NotFound(f"no blob has the key {key!r}")
        info = row_info(row)
        if etag is not None and info.etag != etag:
            raise PreconditionFailed("the copy source has another version")
        return info, int(row[1])

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
        """A new large object filled from the source's by ``blobstream_lo_append`` (1 MiB
        ``loread``/``lowrite`` steps in plpgsql) and swapped in, all in one transaction.
        Onto itself (new metadata) the large object stays: only the row changes."""
        with self.transaction() as conn:
            if src_key == dst_key:
                conn.execute(
                    "SELECT 1 FROM blobstream_blobs WHERE key = %b FOR UPDATE", (src_key.encode(),)
                )
            info, src_loid = self._copy_source(conn, src_key, source_etag)
            commit = Commit(
                info.size, info.sha256, content_type or info.content_type, condition,
                info.meta if meta is None else meta,
            )  # fmt: skip
            if src_key == dst_key:
                return self._restamp(conn, info, src_loid, commit)
            loid = int(_one(conn, "SELECT lo_create(0)"))
            fd = int(_one(conn, "SELECT lo_open(%s, %s)", (loid, INV_WRITE)))
            _one(conn, "SELECT blobstream_lo_append(%s, %s)", (fd, src_loid))
            conn.execute("SELECT lo_close(%s)", (fd,))
            return commit_version(conn, dst_key, loid, commit, hooks=self.tx_hooks)

    def _restamp(
        self, conn: Conn, info: BlobInfo, loid: int, commit: Commit
    ) -> tuple[BlobInfo, bool]:
        """A new version of the same bytes (same large object) with new metadata."""
        commit.condition.check(info)
        new = BlobInfo(
            info.key, info.size, uuid.uuid4().hex, info.sha256, commit.content_type, time.time(),
            dict(commit.meta),
        )  # fmt: skip
        conn.execute(
            "UPDATE blobstream_blobs SET etag = %s, content_type = %s, mtime = %s, meta = %s"
            " WHERE key = %b",
            (new.etag, new.content_type, new.last_modified, Jsonb(dict(new.meta)),
             info.key.encode()),
        )  # fmt: skip
        for hook in self.tx_hooks:
            hook(conn, info.key, info, new)
        return new, False

    def move_blob(
        self, src_key: str, dst_key: str, *, source_etag: str | None, condition: WriteCondition
    ) -> tuple[BlobInfo, bool]:
        """One transaction hands the source's large object to ``dst_key`` and drops
        ``src_key``: no byte is copied."""
        with self.transaction() as conn:
            conn.execute(
                "SELECT 1 FROM blobstream_blobs WHERE key = %b FOR UPDATE", (src_key.encode(),)
            )
            info, src_loid = self._copy_source(conn, src_key, source_etag)
            commit = Commit(info.size, info.sha256, info.content_type, condition, info.meta)
            result = commit_version(conn, dst_key, src_loid, commit, hooks=self.tx_hooks)
            conn.execute("DELETE FROM blobstream_blobs WHERE key = %b", (src_key.encode(),))
            for hook in self.tx_hooks:
                hook(conn, src_key, info, None)
            return result
