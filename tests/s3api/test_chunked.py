"""aws-chunked decoding: AWS's streaming example, trailers, and framing that must fail."""

from __future__ import annotations

import base64
import io
import zlib

import pytest

from blobstream.s3 import sigv4
from blobstream.s3.chunked import AwsChunkedBody, ChunkSigner, parse_size_line
from blobstream.s3.errors import S3Error

SK = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
CREDENTIAL = sigv4.Credential("AKIAIOSFODNN7EXAMPLE", "20130524", "us-east-1", "s3")
SIGNER = ChunkSigner(
    sigv4.signing_key(SK, CREDENTIAL),
    "20130524T000000Z",
    CREDENTIAL.scope,
    "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9",
)
# sigv4-streaming: 66560 bytes of 'a' in a 65536-byte chunk and a 1024-byte one.
SIGNATURES = (
    b"ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
    b"0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
    b"b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9",
)
AWS_STREAM = (
    b"10000;chunk-signature=" + SIGNATURES[0] + b"\r\n" + b"a" * 65536 + b"\r\n"
    b"400;chunk-signature=" + SIGNATURES[1] + b"\r\n" + b"a" * 1024 + b"\r\n"
    b"0;chunk-signature=" + SIGNATURES[2] + b"\r\n\r\n"
)


def decode(raw: bytes, piece: int = 1000, **kwargs: object) -> tuple[bytes, dict[str, str]]:
    options = {"signer": None, "signed_chunks": False, "trailer": False, "signed_trailer": False}
    options.update(kwargs)
    body = AwsChunkedBody(io.BytesIO(raw), **options)  # type: ignore[arg-type]
    out = bytearray()
    buf = bytearray(piece)
    while n := body.readinto(buf):
        out += buf[:n]
    return bytes(out), body.finish()


@pytest.mark.parametrize("piece", [1, 7, 1000, 65536, 1 << 20])
def test_aws_streaming_example(piece: int) -> None:
    data, trailer = decode(AWS_STREAM, piece, signer=SIGNER, signed_chunks=True)
    assert data == b"a" * 66560 and trailer == {}


@pytest.mark.parametrize(
    "tamper",
    [
        lambda raw: raw.replace(b"a" * 1024, b"a" * 1023 + b"b"),
        lambda raw: raw.replace(b"ad80c730", b"ad80c731"),
        lambda raw: raw.replace(b"b6c6ea8a", b"b6c6ea8b"),
        lambda raw: raw.replace(b";chunk-signature=" + SIGNATURES[1], b""),
    ],
)  # fmt: skip
def test_tampered_stream_is_refused(tamper: object) -> None:
    with pytest.raises(S3Error) as err:
        decode(tamper(AWS_STREAM), signer=SIGNER, signed_chunks=True)  # type: ignore[operator]
    assert err.value.s3_code in ("SignatureDoesNotMatch", "InvalidRequest")


def _unsigned_trailer(data: bytes) -> bytes:
    crc = base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()
    return (
        f"{len(data):x}\r\n".encode() + data + b"\r\n0\r\n"
        + f"x-amz-checksum-crc32:{crc}\r\n\r\n".encode()
    )  # fmt: skip


def test_unsigned_payload_with_trailer() -> None:
    data, trailer = decode(_unsigned_trailer(b"hello world"), 3, trailer=True)
    assert data == b"hello world"
    assert trailer == {"x-amz-checksum-crc32": base64.b64encode(
        zlib.crc32(b"hello world").to_bytes(4, "big")).decode()}  # fmt: skip


def test_signed_trailer() -> None:
    key, scope, date = SIGNER.key, SIGNER.scope, SIGNER.amz_date
    previous = SIGNER.seed
    chunks = []
    for payload in (b"x" * 100, b""):
        digest = __import__("hashlib").sha256(payload).hexdigest()
        sig = sigv4.sign(key, sigv4.chunk_string_to_sign(date, scope, previous, digest))
        chunks.append(f"{len(payload):x};chunk-signature={sig}\r\n".encode() + payload
                      + (b"\r\n" if payload else b""))  # fmt: skip
        previous = sig
    trailer = b"x-amz-checksum-crc32c:sOO8/Q==\n"
    trailer_sig = sigv4.sign(key, sigv4.trailer_string_to_sign(date, scope, previous, trailer))
    raw = b"".join(chunks) + b"x-amz-checksum-crc32c:sOO8/Q==\r\n"
    raw += f"x-amz-trailer-signature:{trailer_sig}\r\n\r\n".encode()
    options = {"signer": SIGNER, "signed_chunks": True, "trailer": True, "signed_trailer": True}
    data, fields = decode(raw, **options)
    assert data == b"x" * 100 and fields == {"x-amz-checksum-crc32c": "sOO8/Q=="}
    with pytest.raises(S3Error):
        decode(raw.replace(b"sOO8/Q==\r\n", b"sOO8/R==\r\n"), **options)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (b"0", (0, None)),
        (b"10000", (65536, None)),
        (b"Ff;chunk-signature=" + b"a" * 64, (255, "a" * 64)),
        (b"", None),
        (b"-1", None),
        (b"g", None),
        (b"1" * 17, None),
        (b"10;chunk-signature=abc", None),
        (b"10;foo=" + b"a" * 64, None),
    ],
)
def test_size_lines(line: bytes, expected: tuple[int, str | None] | None) -> None:
    if expected is None:
        with pytest.raises(S3Error):
            parse_size_line(line)
    else:
        assert parse_size_line(line) == expected


@pytest.mark.parametrize(
    "raw",
    [b"5\r\nhel", b"5\r\nhello", b"5\r\nhelloXX0\r\n\r\n", b"zz\r\nhello\r\n0\r\n\r\n"],
)
def test_broken_framing(raw: bytes) -> None:
    with pytest.raises(S3Error):
        decode(raw, trailer=True)
