"""Limits against abuse: concurrent uploads per token, and a timeout on a stalled body.

The uploads cap is counted per worker process (gunicorn forks several), so a
token may hold up to ``cap × workers`` uploads across the server; that bounds
the damage one token does without shared state between processes.

A client that sends a body a byte a minute would hold a worker thread for as
long as it likes: gunicorn reads the body with a blocking socket. While the
application reads the body, :class:`TimedInput` puts a timeout on the socket
(``environ["gunicorn.socket"]``) and turns a stall into ``408``; the socket is
blocking again before the response is sent, so slow downloads are not cut.
"""

from __future__ import annotations

import socket
import threading
from typing import Any

from blobstream.errors import BlobstreamError, RequestTimeout

DEFAULT_MAX_UPLOADS_PER_TOKEN = 8
DEFAULT_BODY_TIMEOUT = 60.0


class TooManyUploads(BlobstreamError):
    status = 429
    slug = "too-many-uploads"
    title = "Too many concurrent uploads"

    def __init__(self, detail: str, retry_after: int = 5) -> None:
        super().__init__(detail)
        self.headers = {"Retry-After": str(retry_after)}


class UploadSlots:
    """How many uploads each principal has in flight in this process."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self._lock = threading.Lock()
        self._counts: dict[str, int] = {}

    def acquire(self, name: str) -> None:
        with self._lock:
            count = self._counts.get(name, 0)
            if count >= self.cap:
                raise TooManyUploads(
                    f"this token already has {count} uploads in flight; the limit is {self.cap}"
                )
            self._counts[name] = count + 1

    def release(self, name: str) -> None:
        with self._lock:
            count = self._counts.get(name, 0) - 1
            if count > 0:
                self._counts[name] = count
            else:
                self._counts.pop(name, None)


class TimedInput:
    """``wsgi.input`` whose reads fail with :class:`RequestTimeout` after ``timeout`` idle seconds.

    Only ``read``/``readline`` exist (like gunicorn's body): Werkzeug then reads
    through ``read`` in the large pieces the caller asks for.
    """

    def __init__(self, stream: Any, sock: socket.socket, timeout: float) -> None:
        self._stream = stream
        self._sock = sock
        self._timeout = timeout

    @property
    def wrapped(self) -> Any:
        """The server's own input, for readers that apply ``timeout`` themselves."""
        return self._stream

    @property
    def timeout(self) -> float:
        return self._timeout

    def _call(self, method: str, *args: Any) -> Any:
        previous = self._sock.gettimeout()
        self._sock.settimeout(self._timeout)
        try:
            return getattr(self._stream, method)(*args)
        except TimeoutError:
            raise RequestTimeout(
                f"no body data arrived for {self._timeout:g} seconds; nothing was stored"
            ) from None
        finally:
            try:
                self._sock.settimeout(previous)
            except OSError:
                pass  # the socket is gone; gunicorn closes the connection

    def read(self, size: int | None = -1) -> bytes:
        data: bytes = self._call("read", size)
        return data

    def readline(self, size: int | None = -1) -> bytes:
        data: bytes = self._call("readline", size)
        return data

    def readlines(self, hint: int | None = -1) -> list[bytes]:
        lines: list[bytes] = self._call("readlines", hint)
        return lines

    def __iter__(self) -> TimedInput:
        return self

    def __next__(self) -> bytes:
        line = self.readline()
        if not line:
            raise StopIteration
        return line
