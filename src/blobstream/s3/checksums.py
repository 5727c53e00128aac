"""S3 object integrity: ``Content-MD5`` and the ``x-amz-checksum-*`` algorithms.

CRC32, CRC32C and CRC64NVME come from ``awscrt`` (the AWS SDKs' own C
library); SHA-1 and SHA-256 from hashlib. Each is a hasher with ``update`` and
``digest`` so the copy loop feeds it like SHA-256. Values travel base64-encoded
in ``x-amz-checksum-<name>`` headers or trailers ("Checking object integrity",
S3 user guide); a multipart upload's composite checksum is the checksum of the
parts' checksums with ``-N``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from awscrt import checksums as crt

from blobstream.s3.errors import S3Error, invalid_argument

ALGORITHMS = ("crc32", "crc32c", "crc64nvme", "sha1", "sha256")
HEADER = "x-amz-checksum-"


class CrcHasher:
    """A CRC from awscrt kept as an int, fed piece by piece."""

    def __init__(self, fn: Callable[[bytes | memoryview, int], int], width: int) -> None:
        self.fn = fn
        self.width = width
        self.value = 0

    def update(self, data: bytes | bytearray | memoryview, /) -> None:
        self.value = self.fn(
            data if isinstance(data, bytes | memoryview) else bytes(data), self.value
        )

    def digest(self) -> bytes:
        return self.value.to_bytes(self.width, "big")

    def hexdigest(self) -> str:
        return self.digest().hex()


def new_hasher(name: str) -> CrcHasher | hashlib._Hash:
    if name == "crc32":
        return CrcHasher(crt.crc32, 4)
    if name == "crc32c":
        return CrcHasher(crt.crc32c, 4)
    if name == "crc64nvme":
        return CrcHasher(crt.crc64nvme, 8)
    if name == "sha1":
        return hashlib.sha1(usedforsecurity=False)
    if name == "sha256":
        return hashlib.sha256()
    raise invalid_argument(f"the checksum algorithm {name!r} is not supported")


def encode(digest: bytes) -> str:
    return base64.b64encode(digest).decode()


def decode(name: str, value: str) -> bytes:
    """A base64 checksum value of the right length for ``name``; InvalidRequest if not."""
    try:
        raw = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != len(new_hasher(name).digest()):
        raise S3Error("InvalidRequest", f"Value for x-amz-checksum-{name} header is invalid.", 400)
    return raw


def algorithm_of(value: str | None) -> str | None:
    """``x-amz-sdk-checksum-algorithm`` / ``x-amz-checksum-algorithm`` as a known name."""
    if value is None or not value.strip():
        return None
    name = value.strip().lower()
    if name not in ALGORITHMS:
        raise invalid_argument(f"the checksum algorithm {value[:20]!r} is not supported")
    return name


@dataclass(frozen=True)
class Wanted:
    """The checksums a request asks to be verified (``expected``, raw bytes by
    name) and computed (``names``: also the ones only announced for a trailer)."""

    expected: Mapping[str, bytes]
    names: frozenset[str]
    md5: bytes | None = None


def wanted(headers: Mapping[str, str], trailer_names: frozenset[str]) -> Wanted:
    """Read ``Content-MD5``, ``x-amz-checksum-*`` and ``x-amz-sdk-checksum-algorithm``
    (lower-case header names); ``trailer_names`` are checksums announced in
    ``x-amz-trailer``, checked once the trailer arrives."""
    expected: dict[str, bytes] = {}
    for name in ALGORITHMS:
        value = headers.get(HEADER + name)
        if value is not None:
            expected[name] = decode(name, value)
    if len(expected) + len(trailer_names) > 1:
        raise invalid_argument(
            "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed."
        )
    names = set(expected) | set(trailer_names)
    sdk = algorithm_of(headers.get("x-amz-sdk-checksum-algorithm"))
    if sdk is not None and not names:
        names.add(sdk)  # computed and stored even with no value to check
    md5 = None
    raw_md5 = headers.get("content-md5")
    if raw_md5 is not None:
        try:
            md5 = base64.b64decode(raw_md5.strip(), validate=True)
        except (binascii.Error, ValueError):
            md5 = b""
        if len(md5) != 16:
            raise S3Error("InvalidDigest", "The Content-MD5 you specified was invalid.", 400)
    return Wanted(expected, frozenset(names), md5)


def verify(name: str, want: bytes, got: bytes) -> None:
    if not hmac.compare_digest(want, got):
        raise S3Error(
            "BadDigest",
            f"The {name.upper()} you specified did not match the calculated checksum.",
            400,
        )


def verify_md5(want: bytes, got: bytes) -> None:
    if not hmac.compare_digest(want, got):
        raise S3Error(
            "BadDigest", "The Content-MD5 you specified did not match what we received.", 400
        )


def composite(name: str, part_digests: list[bytes]) -> str:
    """A multipart upload's composite checksum: of the parts' checksums, ``-N``."""
    hasher = new_hasher(name)
    for digest in part_digests:
        hasher.update(digest)
    return f"{encode(hasher.digest())}-{len(part_digests)}"


def multipart_etag(part_md5s: list[bytes]) -> str:
    """MD5 of the concatenated part MD5s, then ``-N`` (what S3 and its clients expect)."""
    return f"{hashlib.md5(b''.join(part_md5s), usedforsecurity=False).hexdigest()}-{len(part_md5s)}"
