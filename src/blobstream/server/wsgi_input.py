"""The request body as a stream, read straight from the socket under gunicorn.

gunicorn's body reader returns a new ``bytes`` for every read and moves each
piece through two ``BytesIO`` buffers, and Werkzeug may copy once more: about a
million page faults and 4 CPU seconds per GiB here, four times nginx's cost
(docs/BENCHMARKS.md). For a ``Content-Length`` body :func:`body_stream` takes
the bytes gunicorn's parser already buffered, then ``recv_into`` the caller's
reused buffers from ``gunicorn.socket``, keeping gunicorn's own count of what
is left in step so the connection stays usable for the next request.

A chunked body is decoded in place the same way (:class:`ChunkedSocketBody`),
its trailer fields kept for the digest check before the commit. Anything else
(another server, a gunicorn whose internals differ) gets Werkzeug's
``request.stream``, which is always correct; of its trailers, gunicorn's own
reader keeps them (:class:`FallbackBody` passes them on), Werkzeug's
development server cannot read a chunked body that has any (it answers 400).
"""

from __future__ import annotations

import contextlib
import inspect
import io
import re
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

    Each ``readinto`` receives as much as fits straight into the caller's buffer
    and decodes it there: one ``find`` per chunk size line, and each chunk's data
    moved down over the framing before it (one ``memmove`` in C, while the bytes
    are still in cache). A 1 MiB buffer of curl's 64 KiB chunks costs a few
    receives and sixteen small parses, not sixteen rounds of receive, copy and
    line reading. Reads smaller than :attr:`MIN_DIRECT` go through an internal
    buffer. When the last chunk and the trailer section are read, what follows
    goes back to gunicorn's parser and its chunk reader is marked finished; the
    trailer fields are then in :attr:`trailers` (RFC 9110 §6.5).
    """

    MAX_LINE = 8190
    MAX_TRAILERS = 8190 * 32
    MIN_DIRECT = 64 << 10
    _WINDOW = 64  # bytes copied to look for a size line's end; longer lines look again

    def __init__(
        self,
        early: bytes,
        sock: socket.socket,
        reader: Any,
        unreader: Any,
        timeout: float | None,
        announced: frozenset[str] = frozenset(),
    ) -> None:
        self._sock = sock
        self._reader = reader
        self._unreader = unreader
        self._timeout = timeout
        self._carry = memoryview(early)  # received, not yet decoded (framing included)
        self._chunk_left = 0
        self._after_data = False  # a chunk's data ended: CRLF comes before the next size line
        self._done = False
        self._small: bytearray | None = None
        self._pending = memoryview(b"")  # decoded in the internal buffer, not yet read
        self.announced = announced
        self.trailers: list[tuple[str, str]] | None = None

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        if not self._pending and not self._done and len(view) >= self.MIN_DIRECT:
            return self._decode(view)
        if not self._pending and not self._done:
            if self._small is None:
                self._small = bytearray(self.MIN_DIRECT)
            small = memoryview(self._small)
            self._pending = small[: self._decode(small)]
        n = min(len(view), len(self._pending))
        view[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n

    def read(self, size: int = -1, /) -> bytes:
        buffer = bytearray(size if size is not None and size > 0 else 1 << 20)
        n = self.readinto(buffer)
        del buffer[n:]
        return bytes(buffer)

    def _decode(self, view: memoryview) -> int:
        """Fill ``view`` with decoded body bytes; 0 only once the body has ended."""
        cap = len(view)
        out = pos = end = 0  # decoded bytes end at out; received, undecoded ones are [pos, end)
        with _timeout(self._sock, self._timeout):
            while not self._done:
                if self._chunk_left and pos < end:
                    n = min(self._chunk_left, end - pos)
                    if out != pos:
                        view[out : out + n] = view[pos : pos + n]
                    out, pos = out + n, pos + n
                    self._chunk_left -= n
                    self._after_data = not self._chunk_left
                    continue
                if out == cap:
                    break
                if not self._chunk_left:
                    at = self._size_line(view, pos, end)
                    if at >= 0:
                        pos = at
                        if self._chunk_left == 0:
                            self._read_trailers(bytes(view[pos:end]))
                            pos = end
                        continue
                # More bytes are needed: keep the partial line right after the data.
                if out != pos:
                    view[out : out + end - pos] = view[pos:end]
                    pos, end = out, out + end - pos
                if end == cap:
                    break  # a size line starts at the end of the buffer: the next call
                end += self._fill(view, end, cap)
        if pos < end:
            self._carry = memoryview(bytes(view[pos:end]) + bytes(self._carry))
        return out

    def _fill(self, view: memoryview, at: int, cap: int) -> int:
        """Bytes into ``view[at:cap]``: what was already received first, then the socket."""
        if self._carry:
            n = min(len(self._carry), cap - at)
            view[at : at + n] = self._carry[:n]
            self._carry = self._carry[n:]
            return n
        n = self._sock.recv_into(view[at:cap])
        if not n:
            raise IncompleteBody(
                "the chunked body ended inside a chunk"
                if self._chunk_left
                else "the chunked body ended before its last chunk"
            )
        return n

    def _size_line(self, view: memoryview, pos: int, end: int) -> int:
        """Parse ``[CRLF] size [; extensions] CRLF`` at ``pos``; where it ends, or -1 if cut off."""
        window = bytes(view[pos : min(end, pos + self._WINDOW)])
        start = 0
        if self._after_data:
            if len(window) < 2:
                return -1
            if window[:2] != b"\r\n":
                raise BadRequest("a chunk of the body does not end with CRLF")
            start = 2
        at = window.find(b"\r\n", start)
        if at < 0 and len(window) == self._WINDOW:
            window = bytes(view[pos : min(end, pos + self.MAX_LINE + 4)])
            at = window.find(b"\r\n", start)
        if at < 0:
            if len(window) - start > self.MAX_LINE:
                raise BadRequest("a chunk size line is too long")
            return -1
        size, _, extension = window[start:at].partition(b";")
        size = size.rstrip(b" \t") if extension else size
        if not size or len(size) > 16 or size.strip(b"0123456789abcdefABCDEF"):
            raise BadRequest(f"invalid chunk size {size[:20]!r}")
        if b"\r" in extension or b"\n" in extension:
            raise BadRequest("invalid chunk extension")
        self._chunk_left = int(size, 16)
        self._after_data = False
        return pos + at + 2

    def _read_trailers(self, received: bytes) -> None:
        """Read the trailer section (RFC 9112 §7.1.2), give back what follows, parse it."""
        buf = bytearray(received)
        buf += self._carry
        self._carry = memoryview(b"")
        while True:
            if buf.startswith(b"\r\n"):
                section, rest = b"", bytes(buf[2:])
                break
            at = buf.find(b"\r\n\r\n")
            if at >= 0:
                section, rest = bytes(buf[:at]), bytes(buf[at + 4 :])
                break
            if len(buf) > self.MAX_TRAILERS:
                raise BadRequest("the trailer section is too long")
            more = self._sock.recv(64 << 10)
            if not more:
                raise IncompleteBody("the chunked body ended inside its trailer section")
            buf += more
        self._done = True
        self._unreader.unread(rest)
        if len(section) > self.MAX_TRAILERS:
            raise BadRequest("the trailer section is too long")
        self._reader.parser = None  # gunicorn's reader: the body was read to its end
        self.trailers = parse_trailer_section(section)


_TOKEN = re.compile(rb"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
# RFC 9110 §6.5.1: fields that frame, route or authenticate a message cannot come
# after its content. gunicorn refuses the same ones when it reads trailers itself.
FORBIDDEN_TRAILERS = frozenset(
    ("host", "content-length", "transfer-encoding", "trailer", "authorization", "te")
)


def parse_trailer_section(section: bytes) -> list[tuple[str, str]]:
    """The fields of a trailer section (RFC 9112 §7.1.2), without its final empty line.

    A malformed line, an obsolete line folding, a control character in a value or
    a field that may not be a trailer (:data:`FORBIDDEN_TRAILERS`) is a 400.
    """
    fields: list[tuple[str, str]] = []
    if not section:
        return fields
    for line in section.split(b"\r\n"):
        if line[:1] in (b" ", b"\t"):
            raise BadRequest("obsolete line folding in the trailer section")
        name, colon, value = line.partition(b":")
        if not colon or not _TOKEN.fullmatch(name):
            raise BadRequest(f"invalid trailer field {line[:40]!r}")
        value = value.strip(b" \t")
        if any(c < 0x20 and c != 0x09 or c == 0x7F for c in value):
            raise BadRequest(f"invalid value of the trailer field {name.decode()!r}")
        lower = name.decode("ascii").lower()
        if lower in FORBIDDEN_TRAILERS:
            raise BadRequest(f"{name.decode()!r} is not allowed in a trailer section")
        fields.append((lower, value.decode("latin-1")))
    return fields


class FallbackBody:
    """``request.stream`` of a chunked body, with the trailer fields when the server keeps them.

    gunicorn (read the usual way) keeps them in its request's ``trailers``; a
    server that does not expose them leaves :attr:`trailers` ``None`` after the
    end, and the store path refuses a body whose announced digest it cannot see.
    """

    def __init__(self, stream: Readable, owner: Any, announced: frozenset[str]) -> None:
        self._stream = stream
        self._owner = owner  # gunicorn's request, or None
        self.announced = announced

    def read(self, size: int = -1, /) -> bytes:
        return self._stream.read(size)

    @property
    def trailers(self) -> list[tuple[str, str]] | None:
        found = getattr(self._owner, "trailers", None)
        if not isinstance(found, list):
            return None
        return [(str(name).lower(), str(value)) for name, value in found]


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
    """The fastest correct stream of ``req``'s body (module docstring).

    A chunked body's stream has ``trailers`` (the trailer fields once the body
    ended, ``None`` when the server does not expose them) and ``announced``
    (the field names of the ``Trailer`` header, RFC 9110 §6.6.2).
    """
    fast = _socket_body(req)
    if fast is not None:
        return fast
    if req.headers.get("Transfer-Encoding", "").strip().lower() == "chunked":
        body = getattr(req.environ.get("wsgi.input"), "wrapped", req.environ.get("wsgi.input"))
        owner = getattr(getattr(body, "reader", None), "req", None)
        return FallbackBody(req.stream, owner, announced_trailers(req))
    return req.stream


def announced_trailers(req: Request) -> frozenset[str]:
    """Lower-cased field names the ``Trailer`` header says will follow the content."""
    names = ",".join(req.headers.getlist("Trailer"))
    return frozenset(n.strip(" \t").lower() for n in names.split(",") if n.strip(" \t"))


def _socket_body(req: Request) -> SocketBody | ChunkedSocketBody | None:
    environ = req.environ
    sock = environ.get("gunicorn.socket")
    wsgi_input = environ.get("wsgi.input")
    timeout = getattr(wsgi_input, "timeout", None)
    body = getattr(wsgi_input, "wrapped", wsgi_input)
    reader = getattr(body, "reader", None)
    if type(reader).__name__ == "ChunkedReader":
        return _chunked_body(sock, body, reader, timeout, announced_trailers(req))
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
    sock: socket.socket | None,
    body: Any,
    reader: Any,
    timeout: float | None,
    announced: frozenset[str],
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
    return ChunkedSocketBody(early, sock, reader, unreader, timeout, announced)
