"""The ``aws-chunked`` content coding: decode it while streaming, never store it.

A body sent with ``x-amz-content-sha256: STREAMING-…`` is framed as
``<hex-size>[;chunk-signature=<sig>]\\r\\n<data>\\r\\n`` … ``0…\\r\\n``, then
optional trailer fields (``x-amz-checksum-<alg>:<b64>`` and, when signed,
``x-amz-trailer-signature``) and an empty line (S3 API reference,
sigv4-streaming and sigv4-streaming-trailers). :class:`AwsChunkedBody` is a
readable stream of the payload only: each chunk's signature is chained and
checked when its last byte has been read; :meth:`AwsChunkedBody.finish` reads
the terminating chunk and the trailer, which must follow the declared
decoded length exactly.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from blobstream.s3 import sigv4
from blobstream.s3.errors import S3Error

MAX_LINE = 4096
_READ_AHEAD = 8192


@dataclass(frozen=True)
class ChunkSigner:
    """What chains the chunk signatures: the seed is the request's own signature."""

    key: bytes
    amz_date: str
    scope: str
    seed: str


def _incomplete(message: str) -> S3Error:
    return S3Error("IncompleteBody", message, 400)


def _bad_signature() -> S3Error:
    return S3Error(
        "SignatureDoesNotMatch",
        "The request signature we calculated does not match the signature you provided. "
        "Check your key and signing method.",
        403,
    )


def parse_size_line(line: bytes) -> tuple[int, str | None]:
    """``<hex>[;chunk-signature=<64 hex>]`` → size and signature; InvalidRequest if odd."""
    text = line.decode("latin-1")
    size_text, _, ext = text.partition(";")
    size_text = size_text.strip()
    if (
        not size_text
        or len(size_text) > 16
        or any(c not in "0123456789abcdefABCDEF" for c in size_text)
    ):
        raise S3Error("InvalidRequest", "an aws-chunked chunk size is malformed", 400)
    signature = None
    if ext:
        name, _, value = ext.strip().partition("=")
        if name != "chunk-signature" or len(value) != 64:
            raise S3Error("InvalidRequest", "an aws-chunked chunk extension is malformed", 400)
        signature = value
    return int(size_text, 16), signature


class AwsChunkedBody:
    """The decoded payload of an ``aws-chunked`` body (module docstring)."""

    def __init__(
        self,
        raw: Any,
        *,
        signer: ChunkSigner | None,
        signed_chunks: bool,
        trailer: bool,
        signed_trailer: bool,
    ) -> None:
        self.raw = raw
        self.signer = signer
        self.signed_chunks = signed_chunks
        self.trailer = trailer
        self.signed_trailer = signed_trailer
        self.previous = signer.seed if signer is not None else ""
        self.pending = bytearray()
        self.remaining = 0  # payload bytes left in the current chunk
        self.chunk_signature: str | None = None
        self.chunk_hash: Any = None
        self.ended = False  # the terminating chunk was read
        self.trailer_fields: dict[str, str] = {}
        self._readinto = getattr(raw, "readinto", None)

    # -- raw input -----------------------------------------------------------------

    def _raw_into(self, view: memoryview) -> int:
        if self.pending:
            n = min(len(self.pending), view.nbytes)
            view[:n] = self.pending[:n]
            del self.pending[:n]
            return n
        if self._readinto is not None:
            return int(self._readinto(view) or 0)
        data = self.raw.read(view.nbytes)
        view[: len(data)] = data
        return len(data)

    def _line(self) -> bytes:
        """The next CRLF-terminated line of framing (without the CRLF)."""
        while True:
            end = self.pending.find(b"\r\n")
            if end >= 0:
                line = bytes(self.pending[:end])
                del self.pending[: end + 2]
                return line
            if len(self.pending) > MAX_LINE:
                raise S3Error("InvalidRequest", "an aws-chunked line is too long", 400)
            data = self.raw.read(_READ_AHEAD)
            if not data:
                raise _incomplete("the aws-chunked body ended inside its framing")
            self.pending += data

    # -- chunks ----------------------------------------------------------------------

    def _next_chunk(self) -> None:
        size, signature = parse_size_line(self._line())
        if self.signed_chunks and signature is None:
            raise S3Error(
                "InvalidRequest", "a chunk of a signed aws-chunked body has no signature", 400
            )
        self.chunk_signature = signature
        self.chunk_hash = hashlib.sha256() if self.signed_chunks and self.signer else None
        self.remaining = size
        if size == 0:
            self._check_chunk()
            self.ended = True

    def _check_chunk(self) -> None:
        if self.signer is None or not self.signed_chunks:
            return
        digest = (self.chunk_hash or hashlib.sha256()).hexdigest()
        text = sigv4.chunk_string_to_sign(
            self.signer.amz_date, self.signer.scope, self.previous, digest
        )
        expected = sigv4.sign(self.signer.key, text)
        if self.chunk_signature is None or not sigv4.matches(expected, self.chunk_signature):
            raise _bad_signature()
        self.previous = expected

    def _end_chunk(self) -> None:
        if self._line() != b"":
            raise S3Error("InvalidRequest", "an aws-chunked chunk is longer than its size", 400)
        self._check_chunk()

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        if self.ended:
            return 0
        while self.remaining == 0:
            self._next_chunk()
            if self.ended:
                return 0
        want = min(view.nbytes, self.remaining)
        n = self._raw_into(view[:want])
        if n == 0:
            raise _incomplete("the aws-chunked body ended inside a chunk")
        if self.chunk_hash is not None:
            self.chunk_hash.update(view[:n])
        self.remaining -= n
        if self.remaining == 0:
            self._end_chunk()
        return n

    def read(self, size: int = -1, /) -> bytes:
        buf = bytearray(size if size > 0 else 1 << 20)
        n = self.readinto(buf)
        return bytes(buf[:n])

    # -- the end ---------------------------------------------------------------------

    def finish(self) -> dict[str, str]:
        """Read the terminating chunk and the trailer; the trailer's fields (lower-case)."""
        while not self.ended:
            if self.remaining:
                raise S3Error(
                    "IncompleteBody",
                    "the aws-chunked body is longer than x-amz-decoded-content-length",
                    400,
                )
            self._next_chunk()
            if not self.ended:
                raise S3Error(
                    "IncompleteBody",
                    "the aws-chunked body is longer than x-amz-decoded-content-length",
                    400,
                )
        signed_lines: list[bytes] = []
        signature = None
        while True:
            try:
                line = self._line()
            except S3Error:
                if not self.pending and not self.trailer:
                    break  # some clients end with "0\r\n" and no empty line
                raise
            if line == b"":
                break
            name, sep, value = line.decode("latin-1").partition(":")
            if not sep:
                raise S3Error("MalformedTrailerError", "a trailer line is malformed", 400)
            name = name.strip().lower()
            if name == "x-amz-trailer-signature":
                signature = value.strip()
                continue
            self.trailer_fields[name] = value.strip()
            signed_lines.append(f"{name}:{value.strip()}\n".encode("latin-1"))
        if self.signed_trailer and self.signer is not None:
            text = sigv4.trailer_string_to_sign(
                self.signer.amz_date, self.signer.scope, self.previous, b"".join(signed_lines)
            )
            if signature is None or not sigv4.matches(sigv4.sign(self.signer.key, text), signature):
                raise _bad_signature()
        return self.trailer_fields
