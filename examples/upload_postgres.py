"""Upload big files into PostgreSQL large objects (psycopg 3) and download them with Range.

    pip install 'blobstream[postgres]'
    DATABASE_URL=postgresql://me@localhost/files flask --app upload_postgres.py run
    curl -T big.iso http://127.0.0.1:5000/files/big.iso
    curl -r 0-99 http://127.0.0.1:5000/files/big.iso

Each upload is one transaction: ``lo_create``, a ``lowrite`` per ~1 MiB piece,
then the row naming it. A refused or cut body rolls the transaction back, which
drops the large object too: nothing partial is ever visible. A download reads
the large object in a read-only transaction, which keeps its snapshot (and so
the version it started with) until the response is sent.
"""

from __future__ import annotations

import io
import os
from typing import Any

import psycopg
from flask import Flask, Response

from blobstream.flask import NotFound, receive_request, send_stream

DSN = os.environ.get("DATABASE_URL", "postgresql:///files")
LIMIT = int(os.environ.get("MAX_UPLOAD_BYTES", 50 << 30))
INV_WRITE, INV_READ = 0x20000, 0x40000

app = Flask(__name__)
with psycopg.connect(DSN) as setup:
    setup.execute(
        "CREATE TABLE IF NOT EXISTS files (name text PRIMARY KEY, loid oid NOT NULL,"
        " size bigint NOT NULL, sha256 text NOT NULL, modified timestamptz DEFAULT now())"
    )


class LargeObjectWriter:
    """A writable sink over a new large object, in the connection's transaction."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.conn = conn
        self.oid: int = self._one("SELECT lo_create(0)")
        self.fd: int = self._one("SELECT lo_open(%s, %s)", self.oid, INV_WRITE)

    def _one(self, sql: str, *args: object) -> Any:
        row = self.conn.execute(sql, args, binary=True).fetchone()
        assert row is not None
        return row[0]

    def write(self, data: bytes) -> int:
        return int(self._one("SELECT lowrite(%s, %s)", self.fd, data))


class LargeObjectReader(io.RawIOBase):
    """A seekable reader over a large object; closing it ends the transaction."""

    def __init__(self, conn: psycopg.Connection[Any], oid: int) -> None:
        self.conn = conn
        row = conn.execute("SELECT lo_open(%s, %s)", (oid, INV_READ)).fetchone()
        assert row is not None
        self.fd: int = row[0]

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        row = self.conn.execute("SELECT lo_lseek64(%s, %s, %s)", (self.fd, offset, whence))
        return int(row.fetchone()[0])  # type: ignore[index]

    def tell(self) -> int:
        return self.seek(0, io.SEEK_CUR)

    def readinto(self, buffer: Any) -> int:
        row = self.conn.execute("SELECT loread(%s, %s)", (self.fd, len(buffer)), binary=True)
        data = row.fetchone()[0]  # type: ignore[index]
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self.conn.close()
        super().close()


@app.put("/files/<name>")
def upload(name: str) -> tuple[dict[str, object], int]:
    # Leaving the block commits; an exception (a refusal included) rolls back.
    with psycopg.connect(DSN) as conn:
        sink = LargeObjectWriter(conn)
        result = receive_request(sink, limit=LIMIT)  # 400, 411, 413 as problem+json
        old = conn.execute("SELECT loid FROM files WHERE name = %s FOR UPDATE", (name,))
        replaced = old.fetchone()
        conn.execute(
            "INSERT INTO files (name, loid, size, sha256) VALUES (%s, %s, %s, %s)"
            " ON CONFLICT (name) DO UPDATE SET loid = excluded.loid, size = excluded.size,"
            " sha256 = excluded.sha256, modified = now()",
            (name, sink.oid, result.size, result.sha256),
        )
        if replaced is not None:
            conn.execute("SELECT lo_unlink(%s)", replaced)
    return {"name": name, "size": result.size, "sha256": result.sha256}, 201


@app.get("/files/<name>")
def download(name: str) -> Response:
    conn = psycopg.connect(DSN)
    conn.read_only = True
    found = conn.execute(
        "SELECT loid, size, sha256, extract(epoch FROM modified)::float8 FROM files"
        " WHERE name = %s",
        (name,),
    ).fetchone()
    if found is None:
        conn.close()
        raise NotFound(f"no file is named {name!r}")
    oid, size, sha256, modified = found
    stream = io.BufferedReader(LargeObjectReader(conn, oid), buffer_size=1 << 20)
    # Range (206, multipart/byteranges, 416), If-None-Match (304), If-Match (412), HEAD.
    return send_stream(stream, size=size, etag=sha256, sha256=sha256, last_modified=modified)
