"""A read-only, seekable file object over HTTP Range requests (RFC 9110 §14).

Every request carries ``If-Match`` with the ETag seen at open, so a blob replaced
while it is read raises :class:`BlobChangedError` instead of splicing two
versions. Sequential reads ask for growing windows (64 KiB doubling up to
64 MiB), so reading a member out of a large archive fetches little more than
the member, while a long sequential read costs few requests.
"""

from __future__ import annotations

import io
from typing import Any

import requests

from blobstream.client.errors import BlobChangedError, ConflictError, ConnectionFailed
from blobstream.client.models import BlobStat
from blobstream.client.transport import Transport

MIN_WINDOW = 64 << 10
MAX_WINDOW = 64 << 20


class RemoteBlobIO(io.RawIOBase):
    """The raw layer; :meth:`Client.open` wraps it in an :class:`io.BufferedReader`."""

    def __init__(self, transport: Transport, stat: BlobStat) -> None:
        super().__init__()
        self._transport = transport
        self.stat = stat
        self._url = transport.blob_url(stat.key)
        self._pos = 0
        self._response: requests.Response | None = None
        self._body: Any = None
        self._at = 0  # offset the open response delivers next
        self._end = 0  # offset one past the open response's last byte
        self._window = MIN_WINDOW
        self.requests = 0
        """How many ranged GETs were sent (for the curious and for tests)."""

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_SET:
            pos = offset
        elif whence == io.SEEK_CUR:
            pos = self._pos + offset
        elif whence == io.SEEK_END:
            pos = self.stat.size + offset
        else:
            raise ValueError(f"invalid whence {whence}")
        if pos < 0:
            raise OSError(22, "negative seek position")
        self._pos = pos
        return pos

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        want = min(len(view), self.stat.size - self._pos)
        if want <= 0:
            return 0
        if self._response is None or self._at != self._pos:
            self._open_range(want)
        raw = self._response.raw if self._response is not None else None
        assert raw is not None
        try:
            data = raw.read(min(want, self._end - self._at), decode_content=False)
        except Exception as exc:  # urllib3/http.client errors differ by version
            self._drop()
            raise ConnectionFailed(f"read {self.stat.key}: the connection broke: {exc}") from exc
        if not data:
            self._drop()
            raise ConnectionFailed(f"read {self.stat.key}: the server sent too few bytes")
        n = len(data)
        view[:n] = data
        self._pos += n
        self._at += n
        if self._at >= self._end:
            self._drop()
            self._window = min(self._window * 2, MAX_WINDOW)
        return n

    def _open_range(self, want: int) -> None:
        sequential = self._response is None and self._pos == self._end and self._pos > 0
        self._drop()
        if not sequential:
            self._window = MIN_WINDOW
        start = self._pos
        end = min(self.stat.size, start + max(want, self._window))
        headers = {"Range": f"bytes={start}-{end - 1}", "Accept-Encoding": "identity"}
        if self.stat.etag:
            headers["If-Match"] = self.stat.etag
        try:
            response = self._transport.request(
                "GET",
                self._url,
                what=f"read {self.stat.key}",
                ok=(206,),
                headers=headers,
                stream=True,
            )
        except ConflictError as exc:
            raise BlobChangedError(
                f"read {self.stat.key}: the blob was replaced while it was being read", exc.status
            ) from exc
        self.requests += 1
        self._response = response
        self._at, self._end = start, end

    def _drop(self) -> None:
        if self._response is not None:
            self._response.close()
            self._response = None

    def close(self) -> None:
        self._drop()
        super().close()
