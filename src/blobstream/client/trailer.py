"""One PUT sent chunked with its SHA-256 in a trailer: one read, one hash, checked by the server.

The body's ``Content-Digest: sha-256=:…:`` goes in the trailer section (RFC 9112
§7.1.2; RFC 9530 §2 allows the field there), announced by ``Trailer:
Content-Digest`` (RFC 9110 §6.6.2), so the file is read once and hashed while it
is sent, and the server still refuses to commit bytes that do not match.
``requests`` cannot send trailers, so this speaks HTTP/1.1 over ``http.client``
with the session's headers, timeouts and certificate settings; the caller falls
back to a hashed-first PUT when a proxy is configured for the URL.

Each piece is read into one reused buffer with room for its chunk framing around
it, hashed on a second thread while it is sent (``hashlib`` and ``sendall``
release the GIL), and sent with one ``sendall``: no copy of the body in Python.
"""

from __future__ import annotations

import hashlib
import http.client
import socket
import ssl
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.structures import CaseInsensitiveDict
from requests.utils import DEFAULT_CA_BUNDLE_PATH

from blobstream.client.errors import ConnectionFailed
from blobstream.client.models import b64
from blobstream.client.ratelimit import TokenBucket
from blobstream.client.transport import PIECE, Transport, _reason, error_for

Fill = Callable[[memoryview], int]
"""Reads up to ``len(view)`` bytes into ``view``; returns how many, 0 at the end."""

_HEAD = 16  # room before a piece for its size line ("100000\r\n" is 8 bytes)


class NoTrailers(Exception):
    """This URL cannot take a trailer PUT from here (a proxy is configured for it)."""


def fill_from(source: Any) -> Fill:
    """A :data:`Fill` for a binary file (``readinto``) or an iterable of bytes."""
    readinto = getattr(source, "readinto", None)
    if readinto is not None:

        def from_file(view: memoryview) -> int:
            # A pipe returns what it has: fill the piece so chunks stay large.
            got = 0
            while got < len(view):
                n = readinto(view[got:])
                if not n:
                    break
                got += n
            return got

        return from_file
    if hasattr(source, "read"):
        read = source.read

        def from_reader(view: memoryview) -> int:
            data = read(len(view))
            view[: len(data)] = data
            return len(data)

        return from_reader
    return _from_iterable(iter(source))


def _from_iterable(pieces: Iterator[bytes]) -> Fill:
    rest = memoryview(b"")

    def fill(view: memoryview) -> int:
        nonlocal rest
        got = 0
        while got < len(view):
            if not rest:
                try:
                    rest = memoryview(next(pieces)).cast("B")
                except StopIteration:
                    break
                continue
            n = min(len(rest), len(view) - got)
            view[got : got + n] = rest[:n]
            rest = rest[n:]
            got += n
        return got

    return fill


def put_with_trailer(
    transport: Transport,
    url: str,
    headers: dict[str, str],
    fill: Fill,
    *,
    what: str,
    ok: Iterable[int] = (200, 201),
    bucket: TokenBucket | None = None,
    progress: Callable[[int], None] | None = None,
) -> tuple[requests.Response, str]:
    """PUT the bytes ``fill`` gives, chunked, ``Content-Digest`` in the trailer.

    Returns the answer (as a :class:`requests.Response`) and the SHA-256 hex of
    what was sent; an error answer raises its :class:`ClientError`.
    """
    conn = connection_for(transport, url)
    digest = hashlib.sha256()
    try:
        try:
            _send(conn, transport, url, headers, fill, digest, bucket, progress)
        except (BrokenPipeError, ConnectionResetError) as exc:
            # The server may have answered early (401, 412, 413) and closed: read it.
            response = _answer(conn, url, what, exc)
        except OSError as exc:
            reason = _reason(exc)
            raise ConnectionFailed(f"{what}: cannot talk to {transport.base}: {reason}") from exc
        else:
            response = _answer(conn, url, what, None)
    finally:
        conn.close()
    if response.status_code not in ok:
        raise error_for(response, what)
    return response, digest.hexdigest()


def connection_for(transport: Transport, url: str) -> http.client.HTTPConnection:
    """A connection to ``url``'s server with the session's TLS settings (NoTrailers: a proxy)."""
    settings = transport.session.merge_environment_settings(url, {}, None, None, None)
    parts = urlsplit(url)
    if settings.get("proxies", {}).get(parts.scheme) or settings.get("proxies", {}).get("all"):
        raise NoTrailers(url)
    host, port = parts.hostname or "localhost", parts.port
    if parts.scheme == "https":
        verify = settings.get("verify", True)
        if verify is False:
            context = ssl._create_unverified_context()
        else:
            cafile = verify if isinstance(verify, str) else DEFAULT_CA_BUNDLE_PATH
            context = ssl.create_default_context(cafile=cafile)
        return http.client.HTTPSConnection(host, port, timeout=10.0, context=context)
    return http.client.HTTPConnection(host, port, timeout=10.0)


def _send(
    conn: http.client.HTTPConnection,
    transport: Transport,
    url: str,
    headers: dict[str, str],
    fill: Fill,
    digest: Any,
    bucket: TokenBucket | None,
    progress: Callable[[int], None] | None,
) -> None:
    conn.connect()
    assert conn.sock is not None
    sock: socket.socket = conn.sock
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.settimeout(transport.timeout)
    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    conn.putrequest("PUT", target, skip_accept_encoding=True)
    for name, value in {**transport.session.headers, **headers}.items():
        conn.putheader(name, str(value))
    conn.putheader("Transfer-Encoding", "chunked")
    conn.putheader("Trailer", "Content-Digest")
    conn.endheaders()
    piece = bucket.piece if bucket is not None else PIECE
    buf = bytearray(_HEAD + piece + 2)
    view = memoryview(buf)
    with ThreadPoolExecutor(1, thread_name_prefix="blobstream-hash") as pool:
        while n := fill(view[_HEAD : _HEAD + piece]):
            data = view[_HEAD : _HEAD + n]
            if bucket is not None:
                bucket.take(n)
            hashed = pool.submit(digest.update, data)
            size = b"%x\r\n" % n
            start = _HEAD - len(size)
            view[start:_HEAD] = size
            view[_HEAD + n : _HEAD + n + 2] = b"\r\n"
            try:
                sock.sendall(view[start : _HEAD + n + 2])
            finally:
                hashed.result()
            if progress is not None:
                progress(n)
    sock.sendall(b"0\r\nContent-Digest: sha-256=:%s:\r\n\r\n" % b64(digest.digest()).encode())


def _answer(
    conn: http.client.HTTPConnection, url: str, what: str, cause: OSError | None
) -> requests.Response:
    """The server's answer as a :class:`requests.Response` (``error_for`` reads those)."""
    try:
        raw = conn.getresponse()
        body = raw.read()
    except (OSError, http.client.HTTPException) as exc:
        reason = cause or exc
        raise ConnectionFailed(f"{what}: the connection broke: {_reason(reason)}") from reason
    response = requests.Response()
    response.status_code = raw.status
    response.reason = raw.reason
    response.headers = CaseInsensitiveDict(raw.getheaders())
    response._content = body
    response.url = url
    return response


__all__ = ["NoTrailers", "connection_for", "fill_from", "put_with_trailer"]
