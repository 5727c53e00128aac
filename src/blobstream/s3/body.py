"""An S3 request body on its way in: unframed, hashed, and checked before any commit.

:class:`Incoming` turns the request into the stream of the object's bytes
(``aws-chunked`` decoded, :mod:`blobstream.s3.chunked`), its length, and the
hashers the request needs (MD5 always, for the ETag; the ``x-amz-checksum-*``
algorithm asked for). :meth:`Incoming.check` runs after the last byte: the
trailer, ``Content-MD5``, the checksum and a signed payload's SHA-256 must all
match, else the write is refused and nothing is stored.
"""

from __future__ import annotations

import hashlib
from typing import Any

from flask import Request

from blobstream.errors import InvalidHeader
from blobstream.s3 import checksums, objectmeta
from blobstream.s3.app import Call
from blobstream.s3.chunked import AwsChunkedBody
from blobstream.s3.errors import S3Error
from blobstream.server.receive import declared_length
from blobstream.server.wsgi_input import body_stream
from blobstream.streams import CopyResult, Hasher, Readable

MD5 = "s3-md5"


def _trailer_names(call: Call) -> frozenset[str]:
    names = set()
    for item in call.headers.get("x-amz-trailer", "").split(","):
        name = item.strip().lower()
        if not name:
            continue
        if not name.startswith(checksums.HEADER):
            raise S3Error("InvalidRequest", f"the trailer {name[:60]!r} is not supported", 400)
        algorithm = name.removeprefix(checksums.HEADER)
        if algorithm not in checksums.ALGORITHMS:
            raise S3Error("InvalidRequest", f"the trailer {name[:60]!r} is not supported", 400)
        names.add(algorithm)
    return frozenset(names)


class Incoming:
    """The body of one PUT or UploadPart (module docstring)."""

    def __init__(self, call: Call) -> None:
        self.call = call
        request: Request = call.request
        trailer_names = _trailer_names(call) if call.payload.trailer else frozenset()
        self.wanted = checksums.wanted(call.headers, trailer_names)
        self.chunked: AwsChunkedBody | None = None
        if call.payload.streaming:
            raw = call.headers.get("x-amz-decoded-content-length")
            if raw is None or not raw.isdigit():
                raise S3Error(
                    "MissingContentLength", "You must provide the Content-Length HTTP header.", 411
                )
            self.length: int | None = int(raw)
            if call.max_size is not None and self.length > call.max_size:
                raise S3Error(
                    "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size", 400
                )
            declared_length(request, None)  # refuses a transfer coding other than chunked
            self.chunked = AwsChunkedBody(
                body_stream(request),
                signer=call.payload.signer,
                signed_chunks=call.payload.signed_chunks,
                trailer=call.payload.trailer,
                signed_trailer=call.payload.mode.endswith("PAYLOAD-TRAILER")
                and call.payload.signed_chunks,
            )
            self.source: Readable = self.chunked
        else:
            if "content-length" not in call.headers and "transfer-encoding" not in call.headers:
                raise S3Error(
                    "MissingContentLength", "You must provide the Content-Length HTTP header.", 411
                )
            try:
                self.length = declared_length(request, call.max_size)
            except InvalidHeader as exc:
                raise S3Error("InvalidArgument", exc.detail, 400) from exc
            self.source = body_stream(request)
        self.hashers: dict[str, Hasher] = {MD5: hashlib.md5(usedforsecurity=False)}
        for name in self.wanted.names:
            if name != "sha256":  # the copy loop's own SHA-256 serves
                self.hashers["s3-" + name] = checksums.new_hasher(name)

    def digest(self, result: CopyResult, name: str) -> bytes:
        return result.digest("sha256" if name == "sha256" else "s3-" + name)

    def check(self, result: CopyResult) -> dict[str, str]:
        """Verify what the request promised; the version's ETag and checksum metadata."""
        trailer: dict[str, str] = {}
        if self.chunked is not None:
            trailer = self.chunked.finish()
        wanted = self.call.payload.sha256
        if wanted is not None and wanted != result.sha256:
            raise S3Error(
                "XAmzContentSHA256Mismatch",
                "The provided 'x-amz-content-sha256' header does not match what was computed.",
                400,
            )
        md5 = result.digest(MD5)
        if self.wanted.md5 is not None:
            checksums.verify_md5(self.wanted.md5, md5)
        meta = {objectmeta.ETAG: md5.hex()}
        for name in sorted(self.wanted.names):
            got = self.digest(result, name)
            want = self.wanted.expected.get(name)
            if want is None:
                value = trailer.get(checksums.HEADER + name)
                if value is not None:
                    want = checksums.decode(name, value)
                elif (
                    self.chunked is not None
                    and self.call.payload.trailer
                    and name in _trailer_names(self.call)
                ):
                    raise S3Error(
                        "InvalidRequest", f"the trailer x-amz-checksum-{name} is missing", 400
                    )
            if want is not None:
                checksums.verify(name, want, got)
            meta[checksums.HEADER + name] = checksums.encode(got)
            meta[objectmeta.CHECKSUM_TYPE] = "FULL_OBJECT"
        return meta


def checksum_headers(meta: dict[str, str] | Any) -> dict[str, str]:
    return {n: v for n, v in meta.items() if n.startswith(checksums.HEADER)}
