"""A request whose body is a range of a local file, sent by the kernel, digest in the trailer.

The bytes go with ``sendfile`` (no copy through Python; over TLS the socket
falls back to ``send``) in pieces framed as HTTP/1.1 chunks (RFC 9112 §7.1),
and the file's SHA-256, computed by :class:`FileHasher` on another thread
while the bytes go, follows in the trailer section as ``Repr-Digest`` (RFC
9530 §2-3, announced by ``Trailer``, RFC 9110 §6.6.2). So the file is read
once for the hash and sent once, and the two overlap. Without a trailer the
body goes with ``Content-Length``.
"""

from __future__ import annotations

import hashlib
import http.client
import io
import mmap
import os
import socket
import ssl
import threading
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import IO, TYPE_CHECKING
from urllib.parse import urlsplit

import requests

from blobstream.client.errors import ClientError, ConnectionFailed
from blobstream.client.models import b64
from blobstream.client.ratelimit import TokenBucket
from blobstream.client.trailer import _answer
from blobstream.client.transport import Transport, _reason, error_for

if TYPE_CHECKING:
    from hashlib import _Hash as Hash

MMAP_FROM = 1 << 20
MMAP_PIECE = 8 << 20
FILE_PIECE = 8 << 20
"""Bytes per chunk (one ``sendfile``): large enough that framing and progress cost nothing."""


class FileHasher:
    """The SHA-256 of a file's first ``size`` bytes, computed on a thread of its own."""

    def __init__(self, path: Path, size: int, piece: int = 1 << 20) -> None:
        self.path = path
        self.size = size
        self.piece = piece
        self._stop = threading.Event()
        self._digest: bytes | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="blobstream-hash", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            digest = hashlib.sha256()
            with open(self.path, "rb", buffering=0) as f:
                if self.size >= MMAP_FROM:
                    self._hash_mapped(f, digest)
                else:
                    self._hash_read(f, digest)
            self._digest = digest.digest()
        except BaseException as exc:  # handed to the caller by result()
            self._error = exc

    def _hash_mapped(self, f: io.FileIO, digest: Hash) -> None:
        """Hash the page cache in place (no copy: a quarter less CPU than ``read``).

        Each piece leaves the mapping once hashed, so the resident size stays
        one piece. A file cut shorter while it is mapped would fault (SIGBUS) on the pages
        past its new end: its size is checked before every piece.
        """
        with mmap.mmap(f.fileno(), self.size, prot=mmap.PROT_READ) as mapped:
            mapped.madvise(mmap.MADV_SEQUENTIAL)
            with memoryview(mapped) as view:
                for at in range(0, self.size, MMAP_PIECE):
                    if self._stop.is_set():
                        return
                    if os.fstat(f.fileno()).st_size < min(self.size, at + MMAP_PIECE):
                        raise ClientError(f"{self.path}: the file shrank while it was read")
                    with view[at : at + MMAP_PIECE] as piece:
                        digest.update(piece)
                    # Out of this mapping (the page cache keeps it): RSS stays one piece.
                    mapped.madvise(mmap.MADV_DONTNEED, at, min(MMAP_PIECE, self.size - at))

    def _hash_read(self, f: io.FileIO, digest: Hash) -> None:
        buf = bytearray(self.piece)
        view = memoryview(buf)
        left = self.size
        while left > 0 and not self._stop.is_set():
            n = f.readinto(view[: min(self.piece, left)])
            if not n:
                raise ClientError(f"{self.path}: the file shrank while it was read")
            digest.update(view[:n])
            left -= n

    def result(self) -> bytes:
        """The raw digest (waits for the thread); the thread's error is raised here."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        if self._digest is None:
            raise ClientError(f"{self.path}: hashing was cancelled")
        return self._digest

    def cancel(self) -> None:
        self._stop.set()


def repr_digest(digest: bytes) -> str:
    return f"sha-256=:{b64(digest)}:"


def send_file(
    transport: Transport,
    conn: http.client.HTTPConnection,
    method: str,
    url: str,
    headers: Mapping[str, str],
    f: IO[bytes],
    offset: int,
    length: int,
    *,
    trailer: Callable[[], bytes] | None,
    what: str,
    ok: Iterable[int],
    bucket: TokenBucket | None = None,
    progress: Callable[[int], None] | None = None,
) -> requests.Response:
    """Send ``length`` bytes of ``f`` from ``offset``; ``trailer()`` gives the SHA-256 to append.

    ``conn`` (from :func:`~blobstream.client.trailer.connection_for`) is kept open
    for the next request when the server allows, so one upload stays on one
    server process (which holds its running SHA-256).
    """
    try:
        try:
            if conn.sock is None:
                conn.connect()
                assert conn.sock is not None
                conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                conn.sock.settimeout(transport.timeout)
            sock: socket.socket = conn.sock
            parts = urlsplit(url)
            target = parts.path + (f"?{parts.query}" if parts.query else "")
            conn.putrequest(method, target, skip_host=False, skip_accept_encoding=True)
            for name, value in {**transport.session.headers, **headers}.items():
                conn.putheader(name, str(value))
            if trailer is not None:
                conn.putheader("Transfer-Encoding", "chunked")
                conn.putheader("Trailer", "Repr-Digest")
            else:
                conn.putheader("Content-Length", str(length))
            conn.endheaders()
            _send_range(sock, f, offset, length, trailer is not None, bucket, progress)
            if trailer is not None:
                field = f"0\r\nRepr-Digest: {repr_digest(trailer())}\r\n\r\n"
                sock.sendall(field.encode("ascii"))
        except (BrokenPipeError, ConnectionResetError) as exc:
            # The server may have answered early (401, 409, 413) and closed: read it.
            response = _answer(conn, url, what, exc)
        except OSError as exc:
            reason = _reason(exc)
            raise ConnectionFailed(f"{what}: cannot talk to {transport.base}: {reason}") from exc
        else:
            response = _answer(conn, url, what, None)
    except BaseException:
        conn.close()
        raise
    if response.status_code not in ok:
        conn.close()
        raise error_for(response, what)
    return response


def _send_range(
    sock: socket.socket,
    f: IO[bytes],
    offset: int,
    length: int,
    chunked: bool,
    bucket: TokenBucket | None,
    progress: Callable[[int], None] | None,
) -> None:
    more = 0 if isinstance(sock, ssl.SSLSocket) else getattr(socket, "MSG_MORE", 0)
    piece = bucket.piece if bucket is not None else FILE_PIECE
    pos, end = offset, offset + length
    while pos < end:
        n = min(piece, end - pos)
        if bucket is not None:
            bucket.take(n)
        if chunked:
            sock.sendall(b"%x\r\n" % n, more)
        sent = sock.sendfile(f, pos, n)
        if sent != n:
            raise ClientError(f"the file shrank: {end - pos - sent} bytes missing at {pos + sent}")
        if chunked:
            sock.sendall(b"\r\n", more)
        pos += n
        if progress is not None:
            progress(n)
