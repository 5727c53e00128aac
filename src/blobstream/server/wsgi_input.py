"""The request body as a stream, read straight from the socket under gunicorn.

gunicorn's body reader returns a new ``bytes`` for every read and moves each
piece through two ``BytesIO`` buffers, and Werkzeug may copy once more: about a
million page faults and 4 CPU seconds per GiB here, four times nginx's cost
(docs/BENCHMARKS.md). For a ``Content-Length`` body :func:`body_stream` takes
the bytes gunicorn's parser already buffered, then ``recv_into`` the caller's
reused buffers from ``gunicorn.socket``, keeping gunicorn's own count of what
is left in step so the connection stays usable for the next request.

Anything else (another server, a chunked body, a gunicorn whose internals
differ) gets Werkzeug's ``request.stream``, which is always correct.
"""

from __future__ import annotations

import io
import socket
from typing import Any

from flask import Request

from blobstream.errors import RequestTimeout
from blobstream.streams import Readable


class SocketBody:
    """``readinto``/``read`` of a Content-Length body: buffered bytes, then the socket."""

    def __init__(
        self, early: bytes, sock: socket.socket, left: int, reader: Any, timeout: float | None
    ) -> None:
        self._early = memoryview(early)
        self._sock = sock
        self._left = left  # still on the socket
        self._reader = reader  # gunicorn's LengthReader: its ``length`` tracks ours
        self._timeout = timeout

    def readinto(self, buffer: Any) -> int:
        """Fill ``buffer`` as far as the body goes; 0 at its end (or when the peer closed)."""
        view = memoryview(buffer).cast("B")
        filled = 0
        if self._early:
            filled = min(len(view), len(self._early))
            view[:filled] = self._early[:filled]
            self._early = self._early[filled:]
        if filled < len(view) and self._left > 0:
            filled += self._receive(view[filled : filled + self._left])
        self._reader.length = len(self._early) + self._left
        return filled

    def _receive(self, view: memoryview) -> int:
        previous = self._sock.gettimeout()
        if self._timeout is not None:
            self._sock.settimeout(self._timeout)
        got = 0
        try:
            while got < len(view):
                n = self._sock.recv_into(view[got:])
                if not n:
                    break
                got += n
                self._left -= n
        except TimeoutError:
            raise RequestTimeout(
                f"no body data arrived for {self._timeout:g} seconds; nothing was stored"
            ) from None
        finally:
            if self._timeout is not None:
                try:
                    self._sock.settimeout(previous)
                except OSError:
                    pass  # the socket is gone; gunicorn closes the connection
        return got

    def read(self, size: int = -1, /) -> bytes:
        if size is None or size < 0:
            size = len(self._early) + self._left
        buffer = bytearray(size)
        n = self.readinto(buffer)
        del buffer[n:]
        return bytes(buffer)


def body_stream(req: Request) -> Readable:
    """The fastest correct stream of ``req``'s body (module docstring)."""
    fast = _socket_body(req)
    return fast if fast is not None else req.stream


def _socket_body(req: Request) -> SocketBody | None:
    environ = req.environ
    sock = environ.get("gunicorn.socket")
    wsgi_input = environ.get("wsgi.input")
    timeout = getattr(wsgi_input, "timeout", None)
    body = getattr(wsgi_input, "wrapped", wsgi_input)
    reader = getattr(body, "reader", None)
    unreader: Any = getattr(reader, "unreader", None)
    buffered = getattr(body, "buf", None)
    length = req.content_length
    if (
        sock is None
        or length is None
        or type(reader).__name__ != "LengthReader"
        or not isinstance(getattr(unreader, "buf", None), io.BytesIO)
        or not isinstance(buffered, io.BytesIO)
        or buffered.getbuffer().nbytes != 0  # the app already read some of it
        or getattr(reader, "length", None) != length
        or "wsgi.input_terminated" not in environ
    ):
        return None
    held = unreader.buf.getvalue()
    early, rest = held[:length], held[length:]
    # Bytes past the body (a pipelined request) stay with gunicorn's parser.
    unreader.buf = io.BytesIO()
    unreader.buf.write(rest)
    return SocketBody(early, sock, length - len(early), reader, timeout)
