"""Checksums and S3 credentials parsing, as tables."""

from __future__ import annotations

import base64
import hashlib

import pytest

from blobstream.s3 import checksums
from blobstream.s3.credentials import parse_credentials, parse_credentials_file
from blobstream.s3.errors import S3Error

# Reference values: "123456789" is the check input of the CRC catalogue.
CHECK = [
    ("crc32", "cbf43926"),
    ("crc32c", "e3069283"),
    ("crc64nvme", "ae8b14860a799888"),
    ("sha1", hashlib.sha1(b"123456789").hexdigest()),
    ("sha256", hashlib.sha256(b"123456789").hexdigest()),
]


@pytest.mark.parametrize(("name", "hexdigest"), CHECK)
@pytest.mark.parametrize("split", [0, 1, 4, 9])
def test_check_values(name: str, hexdigest: str, split: int) -> None:
    hasher = checksums.new_hasher(name)
    hasher.update(b"123456789"[:split])
    hasher.update(memoryview(b"123456789")[split:])
    assert hasher.digest().hex() == hexdigest


@pytest.mark.parametrize(
    ("headers", "names", "error"),
    [
        ({}, set(), None),
        ({"x-amz-checksum-crc32": "y/Q5Jg=="}, {"crc32"}, None),
        ({"x-amz-sdk-checksum-algorithm": "CRC32C"}, {"crc32c"}, None),
        ({"x-amz-checksum-crc32": "y/Q5"}, None, "InvalidRequest"),
        ({"x-amz-checksum-sha256": "AAAA"}, None, "InvalidRequest"),
        ({"x-amz-checksum-crc32": "y/Q5Jg==", "x-amz-checksum-crc32c": "4waSgw=="}, None,
         "InvalidArgument"),
        ({"x-amz-sdk-checksum-algorithm": "MD4"}, None, "InvalidArgument"),
        ({"content-md5": "not base64!"}, None, "InvalidDigest"),
        ({"content-md5": base64.b64encode(b"short").decode()}, None, "InvalidDigest"),
    ],
)  # fmt: skip
def test_wanted(headers: dict[str, str], names: set[str] | None, error: str | None) -> None:
    if error is not None:
        with pytest.raises(S3Error) as err:
            checksums.wanted(headers, frozenset())
        assert err.value.s3_code == error
    else:
        assert set(checksums.wanted(headers, frozenset()).names) == names


def test_multipart_etag_and_composite() -> None:
    parts = [hashlib.md5(b"a").digest(), hashlib.md5(b"b").digest()]
    expected = hashlib.md5(parts[0] + parts[1]).hexdigest() + "-2"
    assert checksums.multipart_etag(parts) == expected
    crcs = [bytes.fromhex("cbf43926"), bytes.fromhex("cbf43926")]
    assert checksums.composite("crc32", crcs).endswith("-2")


@pytest.mark.parametrize(
    ("value", "count", "error"),
    [
        ("AK:SK:read", 1, None),
        ("A1:S1:admin, A2:S2:write,", 2, None),
        ("AK:SK", 0, "expected ACCESS_KEY:SECRET:role"),
        ("AK:SK:root", 0, "role"),
        ("A K:SK:read", 0, "letters"),
    ],
)
def test_credentials(value: str, count: int, error: str | None) -> None:
    if error is not None:
        with pytest.raises(ValueError, match=error) as err:
            parse_credentials(value)
        assert "SK" not in str(err.value).replace("SECRET", "")
    else:
        assert len(parse_credentials(value)) == count


def test_credentials_file() -> None:
    keys = parse_credentials_file("# comment\n\nAK1 SK1 read\nAK2 SK2 admin\n")
    assert [(k.access_key, k.role.label) for k in keys] == [("AK1", "read"), ("AK2", "admin")]
    assert "SK1" not in repr(keys[0])
    with pytest.raises(ValueError, match="line 1"):
        parse_credentials_file("AK1 SK1\n")
