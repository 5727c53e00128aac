"""The client side of tus 1.0 resumable uploads (https://tus.io/protocols/resumable-upload).

Core (HEAD, PATCH), creation (POST with ``Upload-Length`` and ``Upload-Metadata``),
termination (DELETE) and checksum (``Upload-Checksum: sha256``, checked per
PATCH by the server). Chunks are streamed from the file twice: once to hash,
once to send, so memory stays at one piece whatever the chunk size.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import IO

from blobstream.client.errors import ClientError, NotFoundError, ServerError
from blobstream.client.models import b64
from blobstream.client.ratelimit import TokenBucket
from blobstream.client.transport import PIECE, SizedBody, Transport

TUS_VERSION = "1.0.0"
DEFAULT_CHUNK = 16 << 20
Progress = Callable[[int], None]


@dataclass(frozen=True)
class TusServer:
    """What ``OPTIONS`` said the server supports (tus 1.0 §5.2)."""

    extensions: frozenset[str]
    checksums: frozenset[str]
    max_size: int | None


class TusClient:
    def __init__(self, transport: Transport, endpoint: str = "/uploads") -> None:
        self.transport = transport
        self.endpoint = transport.absolute(endpoint)
        self._server: TusServer | None = None
        self.headers = {"Tus-Resumable": TUS_VERSION}

    def server(self) -> TusServer:
        """The server's tus capabilities; NotFoundError when it offers no tus endpoint."""
        if self._server is None:
            response = self.transport.request(
                "OPTIONS", self.endpoint, what="tus OPTIONS", ok=(200, 204), headers=self.headers
            )
            with response:
                h = response.headers
                if "Tus-Version" not in h and "Tus-Resumable" not in h:
                    raise NotFoundError("the server does not offer tus uploads", 404)
                size = h.get("Tus-Max-Size", "")
                self._server = TusServer(
                    extensions=_tokens(h.get("Tus-Extension", "")),
                    checksums=_tokens(h.get("Tus-Checksum-Algorithm", "")),
                    max_size=int(size) if size.isdigit() else None,
                )
        return self._server

    def create(self, length: int, metadata: Mapping[str, str]) -> str:
        """POST a new upload (creation extension); returns its absolute URL."""
        encoded = ",".join(f"{k} {b64(v.encode())}" for k, v in metadata.items())
        headers = {**self.headers, "Upload-Length": str(length), "Upload-Metadata": encoded}
        response = self.transport.request(
            "POST", self.endpoint, what="create upload", ok=(201,), headers=headers
        )
        with response:
            location = response.headers.get("Location")
        if not location:
            raise ServerError("create upload: the server sent no Location")
        return self.transport.absolute(location)

    def offset(self, url: str) -> int:
        """HEAD: how many bytes the server has (NotFoundError when the upload is gone)."""
        response = self.transport.request(
            "HEAD", url, what="upload status", ok=(200, 204), headers=self.headers
        )
        with response:
            value = response.headers.get("Upload-Offset", "")
        if not value.isdigit():
            raise ServerError("upload status: the server sent no Upload-Offset")
        return int(value)

    def patch(
        self,
        url: str,
        source: IO[bytes],
        offset: int,
        length: int,
        *,
        checksum: bytes | None,
        bucket: TokenBucket | None,
        progress: Progress | None,
    ) -> int:
        """Send ``length`` bytes of ``source`` from ``offset``; returns the new offset."""
        headers = {
            **self.headers,
            "Content-Type": "application/offset+octet-stream",
            "Upload-Offset": str(offset),
        }
        if checksum is not None:
            headers["Upload-Checksum"] = f"sha256 {b64(checksum)}"
        body = SizedBody(read_range(source, offset, length, bucket, progress), length)
        response = self.transport.request(
            "PATCH", url, what="upload", ok=(200, 204), headers=headers, data=body
        )
        with response:
            value = response.headers.get("Upload-Offset", "")
        if not value.isdigit():
            raise ServerError("upload: the server sent no Upload-Offset")
        return int(value)

    def terminate(self, url: str) -> None:
        """DELETE an upload we gave up on (termination extension); failures are ignored."""
        with contextlib.suppress(ClientError):
            self.transport.request(
                "DELETE", url, what="terminate upload", ok=(204, 404, 410), headers=self.headers
            ).close()


def read_range(
    source: IO[bytes],
    offset: int,
    length: int,
    bucket: TokenBucket | None = None,
    progress: Progress | None = None,
) -> Iterator[bytes]:
    """``length`` bytes of a seekable file from ``offset``, in pieces, paced and reported."""
    source.seek(offset)
    piece = bucket.piece if bucket is not None else PIECE
    remaining = length
    while remaining > 0:
        data = source.read(min(piece, remaining))
        if not data:
            raise ClientError(f"the file shrank: {remaining} bytes missing at {length - remaining}")
        if bucket is not None:
            bucket.take(len(data))
        remaining -= len(data)
        yield data
        if progress is not None:
            progress(len(data))


def hash_range(source: IO[bytes], offset: int, length: int, *hashers: hashlib._Hash) -> None:
    """Feed ``length`` bytes from ``offset`` to every hasher."""
    for data in read_range(source, offset, length):
        for hasher in hashers:
            hasher.update(data)


def _tokens(header: str) -> frozenset[str]:
    return frozenset(t.strip().lower() for t in header.split(",") if t.strip())
