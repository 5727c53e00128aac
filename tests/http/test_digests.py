"""Table tests for RFC 9530 digest fields, Content-MD5 and tus Upload-Checksum."""

from __future__ import annotations

import base64
import hashlib

import pytest

from blobstream.errors import DigestMismatch, InvalidHeader
from blobstream.http.digests import (
    ExpectedDigests,
    UnsupportedChecksum,
    expected_digests,
    format_digest_field,
    parse_content_md5,
    parse_digest_field,
    parse_tus_checksum,
)

BODY = b"hello world"
SHA256 = hashlib.sha256(BODY).digest()
SHA1 = hashlib.sha1(BODY).digest()
MD5 = hashlib.md5(BODY).digest()
SHA512 = hashlib.sha512(BODY).digest()
OTHER_MD5 = hashlib.md5(b"other").digest()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


S256, M5 = b64(SHA256), b64(MD5)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, {}),
        ("", {}),
        ("  ", {}),
        (f"sha-256=:{S256}:", {"sha-256": SHA256}),
        (f"SHA-256=:{S256}:", {"sha-256": SHA256}),
        (f"  sha-256=:{S256}:  ", {"sha-256": SHA256}),
        (f"sha-256=:{S256}:, md5=:{M5}:", {"sha-256": SHA256, "md5": MD5}),
        (f"sha-256=:{S256}:,md5=:{M5}:", {"sha-256": SHA256, "md5": MD5}),
        (f"sha-256=:{S256}:\t,\tmd5=:{M5}:", {"sha-256": SHA256, "md5": MD5}),
        (f"sha-512=:{b64(SHA512)}:", {"sha-512": SHA512}),
        ("unixsum=:AAE=:", {"unixsum": b"\x00\x01"}),
        ("x-custom.alg_1*=:AA==:", {"x-custom.alg_1*": b"\x00"}),
        ("*star=:AA==:", {"*star": b"\x00"}),
        ("sha-256=::", {"sha-256": b""}),
        ("md5=:AA:", {"md5": b"\x00"}),  # missing padding tolerated (RFC 8941 §3.3.5)
        ("md5=:AAA:", {"md5": b"\x00\x00"}),
        (f"md5=:{OTHER_MD5.hex()}:, md5=:{M5}:", {"md5": MD5}),  # last one wins
        (f"sha-256=:{S256}:;foo=bar", {"sha-256": SHA256}),  # parameters ignored
        (f"sha-256=:{S256}:;a;b=?1;c=2;d=:AA==:", {"sha-256": SHA256}),
        # malformed
        ("sha-256", InvalidHeader),
        ("sha-256=", InvalidHeader),
        (f"sha-256={S256}", InvalidHeader),
        (f"sha-256=:{S256}", InvalidHeader),
        (f'sha-256="{S256}"', InvalidHeader),
        ("sha-256=:not base64!:", InvalidHeader),
        ("sha-256=:A:", InvalidHeader),
        ("sha-256=:A=A=:", InvalidHeader),
        ("sha-256=:AA===:", InvalidHeader),
        ("sha-256=:-_-_:", InvalidHeader),  # base64url is not allowed
        ("sha-256=:AA==:,", InvalidHeader),
        (",sha-256=:AA==:", InvalidHeader),
        ("sha-256=:AA==:,,md5=:AA==:", InvalidHeader),
        ("sha-256 = :AA==:", InvalidHeader),
        ("sha-256=:AA==: md5=:AA==:", InvalidHeader),
        ("1sha=:AA==:", InvalidHeader),
        ("-sha=:AA==:", InvalidHeader),
        ("sha 256=:AA==:", InvalidHeader),
        ("sha-256=?1", InvalidHeader),
        ("sha-256=12", InvalidHeader),
        ("sha-256=:AA==:;", InvalidHeader),
        ('sha-256=:AA==:;p="x"', InvalidHeader),
        ("sha-256=:ÄA==:", InvalidHeader),
        ("sha-256=:AA==:\r\nX-Injected: 1", InvalidHeader),
    ],
)
def test_parse_digest_field(value: str | None, expected: object) -> None:
    if expected is InvalidHeader:
        with pytest.raises(InvalidHeader):
            parse_digest_field(value)
    else:
        assert parse_digest_field(value) == expected


@pytest.mark.parametrize(
    ("digests", "expected"),
    [
        ({}, ""),
        ({"sha-256": SHA256}, f"sha-256=:{S256}:"),
        ({"sha-256": SHA256, "md5": MD5}, f"sha-256=:{S256}:, md5=:{M5}:"),
        ({"x": b""}, "x=::"),
    ],
)
def test_format_digest_field(digests: dict[str, bytes], expected: str) -> None:
    assert format_digest_field(digests) == expected
    assert parse_digest_field(expected) == digests


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        (M5, MD5),
        (f"  {M5}  ", MD5),
        (M5.rstrip("="), MD5),
        ("", InvalidHeader),
        (MD5.hex(), InvalidHeader),  # hex is a common client mistake
        (b64(SHA256), InvalidHeader),
        (b64(MD5[:15]), InvalidHeader),
        (b64(MD5 + b"\x00"), InvalidHeader),
        ("!!!!", InvalidHeader),
        (M5[:-3] + "%%==", InvalidHeader),
    ],
)
def test_parse_content_md5(value: str | None, expected: object) -> None:
    if expected is InvalidHeader:
        with pytest.raises(InvalidHeader):
            parse_content_md5(value)
    else:
        assert parse_content_md5(value) == expected


@pytest.mark.parametrize(
    ("content_md5", "content_digest", "expected"),
    [
        (None, None, ExpectedDigests()),
        (M5, None, ExpectedDigests(md5=MD5)),
        (None, f"md5=:{M5}:", ExpectedDigests(md5=MD5)),
        (None, f"sha-256=:{S256}:", ExpectedDigests(sha256=SHA256)),
        (M5, f"sha-256=:{S256}:", ExpectedDigests(sha256=SHA256, md5=MD5)),
        (M5, f"sha-256=:{S256}:, md5=:{M5}:", ExpectedDigests(sha256=SHA256, md5=MD5)),
        (None, f"sha-512=:{b64(SHA512)}:, sha-256=:{S256}:", ExpectedDigests(sha256=SHA256)),
        (None, "crc32c=:AAAAAA==:", ExpectedDigests()),  # unknown: kept, then ignored
        (None, "", ExpectedDigests()),
        (M5, f"md5=:{b64(OTHER_MD5)}:", InvalidHeader),  # conflicting MD5s
        (None, f"sha-256=:{M5}:", InvalidHeader),  # wrong length
        (None, f"md5=:{S256}:", InvalidHeader),
        (None, "sha-512=:AA==:", InvalidHeader),
        (None, "sha-256=::", InvalidHeader),
        (MD5.hex(), None, InvalidHeader),
        (None, f"sha-256={S256}", InvalidHeader),
    ],
)
def test_expected_digests(
    content_md5: str | None, content_digest: str | None, expected: object
) -> None:
    if expected is InvalidHeader:
        with pytest.raises(InvalidHeader):
            expected_digests(content_md5, content_digest)
    else:
        assert expected_digests(content_md5, content_digest) == expected


@pytest.mark.parametrize(
    ("declared", "sha256", "md5", "error"),
    [
        (ExpectedDigests(), SHA256, None, None),
        (ExpectedDigests(sha256=SHA256), SHA256, None, None),
        (ExpectedDigests(sha256=SHA256, md5=MD5), SHA256, MD5, None),
        (ExpectedDigests(md5=MD5), SHA256, MD5, None),
        (ExpectedDigests(sha256=SHA256), hashlib.sha256(b"x").digest(), None, DigestMismatch),
        (ExpectedDigests(md5=MD5), SHA256, OTHER_MD5, DigestMismatch),
        (ExpectedDigests(md5=MD5), SHA256, None, ValueError),
    ],
)
def test_check(
    declared: ExpectedDigests, sha256: bytes, md5: bytes | None, error: type[Exception] | None
) -> None:
    if error is None:
        declared.check(sha256, md5)
    else:
        with pytest.raises(error):
            declared.check(sha256, md5)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (f"sha1 {b64(SHA1)}", ("sha1", SHA1)),
        (f"sha256 {S256}", ("sha256", SHA256)),
        (f"md5 {M5}", ("md5", MD5)),
        (f"SHA1 {b64(SHA1)}", ("sha1", SHA1)),
        (f"  md5 {M5}  ", ("md5", MD5)),
        (f"md5  {M5}", ("md5", MD5)),
        (f"md5 {M5.rstrip('=')}", ("md5", MD5)),
        (f"crc32 {b64(b'1234')}", UnsupportedChecksum),
        (f"sha512 {b64(SHA512)}", UnsupportedChecksum),
        (f"sha-256 {S256}", UnsupportedChecksum),
        ("sha1", InvalidHeader),
        ("sha1 ", InvalidHeader),
        (f" {b64(SHA1)}", InvalidHeader),
        ("", InvalidHeader),
        ("sha1 not-base64!", InvalidHeader),
        (f"sha1 {SHA1.hex()}", InvalidHeader),
        (f"sha1 {S256}", InvalidHeader),  # wrong length for sha1
        (f"md5 {b64(SHA1)}", InvalidHeader),
        (f"sha256 {b64(SHA256)} extra", InvalidHeader),
        (f"sha1:{b64(SHA1)}", InvalidHeader),
    ],
)
def test_parse_tus_checksum(value: str, expected: object) -> None:
    if isinstance(expected, type):
        with pytest.raises(InvalidHeader) as info:
            parse_tus_checksum(value)
        assert (info.type is UnsupportedChecksum) is (expected is UnsupportedChecksum)
        assert info.value.status == 400
    else:
        assert parse_tus_checksum(value) == expected
