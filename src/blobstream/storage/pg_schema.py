"""The PostgreSQL backend's schema, its migration at start, and its error mapping.

Keys are stored as ``bytea`` (their UTF-8 bytes) so ``ORDER BY key`` is byte
order whatever the database's collation. Blob data lives in large objects;
``blobstream_lo_append`` copies one large object onto the end of another inside
the server, so concatenating uploads moves no byte through Python.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import psycopg
import psycopg_pool
from psycopg import errors as pg_errors

from blobstream.errors import Locked, StorageFull, StorageUnavailable

SCHEMA_VERSION = 3
# Any constant: serialises schema creation between nodes starting at once.
MIGRATION_LOCK = 0x626C6F6273747265

INV_WRITE = 0x20000
INV_READ = 0x40000
LO_CHUNK = 1 << 20

MIGRATIONS = {
    1: """
CREATE TABLE blobstream_blobs (
    key bytea PRIMARY KEY,
    loid oid NOT NULL,
    size bigint NOT NULL,
    etag text NOT NULL,
    sha256 text NOT NULL,
    content_type text NOT NULL,
    mtime double precision NOT NULL
);
CREATE TABLE blobstream_uploads (
    id text PRIMARY KEY,
    loid oid,
    "offset" bigint NOT NULL DEFAULT 0,
    length bigint,
    metadata jsonb NOT NULL DEFAULT '{}',
    created double precision NOT NULL,
    expires double precision,
    partial boolean NOT NULL DEFAULT false,
    parts text[] NOT NULL DEFAULT '{}',
    completed_key text
);
CREATE INDEX blobstream_uploads_expires ON blobstream_uploads (expires)
    WHERE expires IS NOT NULL;
CREATE FUNCTION blobstream_lo_append(dst integer, src oid) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    fd integer := lo_open(src, 262144);
    piece bytea;
    total bigint := 0;
BEGIN
    LOOP
        piece := loread(fd, 1048576);
        EXIT WHEN length(piece) = 0;
        PERFORM lowrite(dst, piece);
        total := total + length(piece);
    END LOOP;
    PERFORM lo_close(fd);
    RETURN total;
END $$;
""",
    # Quota counters per scope and the token that stored each counted blob
    # (blobstream.quotas.postgres), moved in the transactions that swap keys.
    2: """
CREATE TABLE blobstream_quota_usage (
    scope text PRIMARY KEY,
    bytes bigint NOT NULL,
    blobs bigint NOT NULL
);
CREATE TABLE blobstream_quota_owner (
    key bytea PRIMARY KEY,
    scope text NOT NULL,
    size bigint NOT NULL
);
CREATE INDEX blobstream_quota_owner_scope ON blobstream_quota_owner (scope);
""",
    # What a dialect records with a version (S3: its ETag, user metadata, checksums).
    3: """
ALTER TABLE blobstream_blobs ADD COLUMN meta jsonb NOT NULL DEFAULT '{}';
""",
}


def migrate(conn: psycopg.Connection[tuple[Any, ...]]) -> None:
    """Create or upgrade the schema; nodes starting together wait for each other."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        conn.execute("CREATE TABLE IF NOT EXISTS blobstream_schema (version integer NOT NULL)")
        row = conn.execute("SELECT max(version) FROM blobstream_schema").fetchone()
        current = int(row[0]) if row and row[0] is not None else 0
        for version in range(current + 1, SCHEMA_VERSION + 1):
            conn.execute(MIGRATIONS[version].encode())
            conn.execute("INSERT INTO blobstream_schema (version) VALUES (%s)", (version,))


def storage_error(exc: BaseException) -> BaseException:
    """Map a psycopg failure to the named error a client should see."""
    if isinstance(exc, pg_errors.LockNotAvailable):
        return Locked("another request holds this resource")
    if isinstance(exc, pg_errors.DiskFull | pg_errors.OutOfMemory):
        return StorageFull("the database has no space left")
    if isinstance(exc, psycopg_pool.PoolTimeout):
        return StorageUnavailable("no database connection could be had in time")
    if isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError):
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return StorageUnavailable(f"the database does not answer: {first}")
    if isinstance(exc, psycopg.Error):
        return StorageUnavailable(f"the database failed: {type(exc).__name__}")
    return exc


@contextlib.contextmanager
def mapped_errors() -> Iterator[None]:
    try:
        yield
    except (psycopg.Error, psycopg_pool.PoolTimeout) as exc:
        raise storage_error(exc) from exc
