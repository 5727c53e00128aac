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

import contextlib
import inspect
import io
import socket
from collections.abc import Iterator
from typing import Any

from flask import Request

from blobstream.errors import BadRequest, IncompleteBody, RequestTimeout
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
        got = 0
        with _timeout(self._sock, self._timeout):
            while got < len(view):
                n = self._sock.recv_into(view[got:])
                if not n:
                    break
                got += n
                self._left -= n
        return got

    def read(self, size: int = -1, /) -> bytes:
        if size is None or size < 0:
            size = len(self._early) + self._left
        buffer = bytearray(size)
        n = self.readinto(buffer)
        del buffer[n:]
        return bytes(buffer)


class ChunkedSocketBody:
    """``readinto``/``read`` of a chunked body (RFC 9112 §7.1) decoded from the socket.

    Chunk data of 64 KiB and more is received straight into the caller's buffer;
    size lines, small chunks and trailers go through one reused staging buffer.
    When the last chunk and the trailers are read, what follows goes back to
    gunicorn's parser and its chunk reader is marked finished.
    """

    STAGING = 256 << 10
    MAX_LINE = 8190
    MAX_TRAILERS = 8190 * 32
    DIRECT = 64 << 10

    def __init__(
        self, early: bytes, sock: socket.socket, reader: Any, unreader: Any, timeout: float | None
    ) -> None:
        self._sock = sock
        self._reader = reader
        self._unreader = unreader
        self._timeout = timeout
        self._buf = bytearray(max(self.STAGING, len(early)))
        self._buf[: len(early)] = early
        self._start, self._end = 0, len(early)
        self._chunk_left = 0
        self._state = "size"

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        filled = 0
        with _timeout(self._sock, self._timeout):
            while filled < len(view) and self._state != "done":
                if self._state == "data":
                    filled += self._data(view[filled:])
                elif self._state == "crlf":
                    if self._line(2) != b"\r\n":
                        raise BadRequest("a chunk of the body does not end with CRLF")
                    self._state = "size"
                elif self._state == "size":
                    self._size_line()
                else:
                    self._trailers()
        return filled

    def read(self, size: int = -1, /) -> bytes:
        buffer = bytearray(size if size is not None and size > 0 else 1 << 20)
        n = self.readinto(buffer)
        del buffer[n:]
        return bytes(buffer)

    def _data(self, view: memoryview) -> int:
        want = min(self._chunk_left, len(view))
        if self._start < self._end:
            n = min(want, self._end - self._start)
            view[:n] = self._buf[self._start : self._start + n]
            self._start += n
        elif want >= self.DIRECT:
            n = self._sock.recv_into(view[:want])
            if not n:
                raise IncompleteBody("the chunked body ended inside a chunk")
        else:
            self._receive()
            return 0
        self._chunk_left -= n
        if self._chunk_left == 0:
            self._state = "crlf"
        return n

    def _receive(self) -> None:
        """Receive more into the staging buffer (moving what is unread to its front)."""
        if self._start:
            unread = self._end - self._start
            self._buf[:unread] = self._buf[self._start : self._end]
            self._start, self._end = 0, unread
        if self._end == len(self._buf):
            raise BadRequest("a chunk size line or the trailers are too long")
        n = self._sock.recv_into(memoryview(self._buf)[self._end :])
        if not n:
            raise IncompleteBody("the chunked body ended before its last chunk")
        self._end += n

    def _line(self, exactly: int | None = None) -> bytes:
        """The next CRLF-terminated line (with CRLF when ``exactly`` bytes are asked for)."""
        while True:
            if exactly is not None and self._end - self._start >= exactly:
                line = bytes(self._buf[self._start : self._start + exactly])
                self._start += exactly
                return line
            if exactly is None:
                at = self._buf.find(b"\r\n", self._start, self._end)
                if at >= 0:
                    line = bytes(self._buf[self._start : at])
                    self._start = at + 2
                    return line
                if self._end - self._start > self.MAX_LINE:
                    raise BadRequest("a chunk size line is too long")
            self._receive()

    def _size_line(self) -> None:
        line = self._line()
        size, _, extension = line.partition(b";")
        size = size.rstrip(b" \t") if extension else size
        if not size or len(size) > 16 or size.strip(b"0123456789abcdefABCDEF"):
            raise BadRequest(f"invalid chunk size {size[:20]!r}")
        if b"\r" in extension or b"\n" in extension:
            raise BadRequest("invalid chunk extension")
        self._chunk_left = int(size, 16)
        self._state = "data" if self._chunk_left else "trailers"

    def _trailers(self) -> None:
        received = 0
        while (line := self._line()) != b"":
            received += len(line) + 2
            if received > self.MAX_TRAILERS:
                raise BadRequest("the trailer section is too long")
        self._state = "done"
        self._unreader.unread(bytes(self._buf[self._start : self._end]))
        self._start = self._end = 0
        self._reader.parser = None  # gunicorn's reader: the body was read to its end


@contextlib.contextmanager
def _timeout(sock: socket.socket, timeout: float | None) -> Iterator[None]:
    """Apply the body timeout while receiving; a stall becomes ``408``."""
    if timeout is None:
        yield
        return
    previous = sock.gettimeout()
    sock.settimeout(timeout)
    try:
        yield
    except TimeoutError:
        raise RequestTimeout(
            f"no body data arrived for {timeout:g} seconds; nothing was stored"
        ) from None
    finally:
        try:
            sock.settimeout(previous)
        except OSError:
            pass  # the socket is gone; gunicorn closes the connection


def body_stream(req: Request) -> Readable:
    """The fastest correct stream of ``req``'s body (module docstring)."""
    fast = _socket_body(req)
    return fast if fast is not None else req.stream


def _socket_body(req: Request) -> SocketBody | ChunkedSocketBody | None:
    environ = req.environ
    sock = environ.get("gunicorn.socket")
    wsgi_input = environ.get("wsgi.input")
    timeout = getattr(wsgi_input, "timeout", None)
    body = getattr(wsgi_input, "wrapped", wsgi_input)
    reader = getattr(body, "reader", None)
    if type(reader).__name__ == "ChunkedReader":
        return _chunked_body(sock, body, reader, timeout)
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


def _chunked_body(
    sock: socket.socket | None, body: Any, reader: Any, timeout: float | None
) -> ChunkedSocketBody | None:
    """gunicorn's chunk reader, not started yet: its generator and buffers untouched."""
    parser = getattr(reader, "parser", None)
    unreader: Any = getattr(getattr(reader, "req", None), "unreader", None)
    if (
        sock is None
        or not inspect.isgenerator(parser)
        or inspect.getgeneratorstate(parser) != inspect.GEN_CREATED
        or not isinstance(getattr(unreader, "buf", None), io.BytesIO)
        or not isinstance(getattr(body, "buf", None), io.BytesIO)
        or body.buf.getbuffer().nbytes != 0
        or not isinstance(getattr(reader, "buf", None), io.BytesIO)
        or reader.buf.getbuffer().nbytes != 0
    ):
        return None
    early = unreader.buf.getvalue()
    unreader.buf = io.BytesIO()
    return ChunkedSocketBody(early, sock, reader, unreader, timeout)
