"""What an S3 object carries besides its bytes, kept in the version's ``meta``.

``s3-etag`` (hex MD5, or the multipart ``md5-of-md5s-N``), ``s3-parts`` (the
part sizes of a multipart object, for ``partNumber`` reads), user metadata
under ``x-amz-meta-*``, the representation headers S3 keeps (Content-
Disposition, -Encoding, -Language, Cache-Control, Expires) and the checksum
(``x-amz-checksum-<alg>`` and ``x-amz-checksum-type``). Names are lower case.
"""

from __future__ import annotations

from collections.abc import Mapping

from blobstream.s3.errors import S3Error

KEPT = ("content-disposition", "content-encoding", "content-language", "cache-control", "expires")
USER = "x-amz-meta-"
ETAG = "s3-etag"
PARTS = "s3-parts"
CHECKSUM = "x-amz-checksum-"
CHECKSUM_TYPE = "x-amz-checksum-type"
MAX_USER_METADATA = 2048  # bytes of names and values, as S3 allows


def from_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The user metadata and kept headers of a PUT/Copy/CreateMultipartUpload."""
    meta: dict[str, str] = {}
    size = 0
    for name, value in headers.items():
        if name.startswith(USER):
            meta[name] = value
            size += len(name) - len(USER) + len(value.encode("utf-8", "surrogateescape"))
        elif name in KEPT:
            meta[name] = value
    encoding = meta.get("content-encoding")
    if encoding is not None:  # aws-chunked is the transfer's framing, never the object's
        codings = [c.strip() for c in encoding.split(",") if c.strip().lower() != "aws-chunked"]
        if codings:
            meta["content-encoding"] = ", ".join(codings)
        else:
            del meta["content-encoding"]
    if size > MAX_USER_METADATA:
        raise S3Error(
            "MetadataTooLarge",
            "Your metadata headers exceed the maximum allowed metadata size.",
            400,
        )
    return meta


def descriptive(meta: Mapping[str, str]) -> dict[str, str]:
    """The part of ``meta`` a copy with ``COPY`` keeps and ``REPLACE`` replaces."""
    return {n: v for n, v in meta.items() if n.startswith(USER) or n in KEPT}


def response_headers(meta: Mapping[str, str], checksum: bool) -> dict[str, str]:
    headers = {n: v for n, v in meta.items() if n.startswith(USER) or n in KEPT}
    if checksum:
        headers.update({n: v for n, v in meta.items() if n.startswith(CHECKSUM)})
    parts = meta.get(PARTS)
    if parts:
        headers["x-amz-mp-parts-count"] = str(part_count(parts))
    return headers


def encode_parts(sizes: list[int]) -> str:
    """Part sizes for ``partNumber`` reads: ``N*size+last`` when all but the last are
    equal (what every SDK sends), else the sizes comma-separated."""
    if len(sizes) > 1 and len(set(sizes[:-1])) == 1:
        return f"{len(sizes) - 1}*{sizes[0]}+{sizes[-1]}"
    return ",".join(str(s) for s in sizes)


def part_count(encoded: str) -> int:
    if "*" in encoded:
        return int(encoded.split("*", 1)[0]) + 1
    return encoded.count(",") + 1


def part_range(encoded: str, number: int) -> tuple[int, int] | None:
    """``(start, size)`` of part ``number`` (1-based), None past the last."""
    if "*" in encoded:
        head, _, last = encoded.partition("+")
        count, _, size = head.partition("*")
        n, s = int(count), int(size)
        if number <= n:
            return (number - 1) * s, s
        return (n * s, int(last)) if number == n + 1 else None
    sizes = [int(s) for s in encoded.split(",") if s]
    if number > len(sizes):
        return None
    return sum(sizes[: number - 1]), sizes[number - 1]
