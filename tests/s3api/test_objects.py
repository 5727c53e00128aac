"""Objects and buckets through boto3, unmodified: what an SDK user does first."""

from __future__ import annotations

import hashlib
import io
import os

import pytest
from botocore.exceptions import ClientError

from tests.s3api.conftest import S3Server


def code(exc: pytest.ExceptionInfo[ClientError]) -> tuple[int, str]:
    response = exc.value.response
    return response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Code"]


def test_buckets_are_created_listed_and_deleted(s3: S3Server) -> None:
    client = s3.client()
    client.create_bucket(Bucket="made-here")
    assert "made-here" in [b["Name"] for b in client.list_buckets()["Buckets"]]
    client.head_bucket(Bucket="made-here")
    assert client.get_bucket_location(Bucket="made-here")["LocationConstraint"] is None
    with pytest.raises(ClientError) as again:
        client.create_bucket(Bucket="made-here")
    assert code(again) == (409, "BucketAlreadyOwnedByYou")
    client.put_object(Bucket="made-here", Key="x", Body=b"1")
    with pytest.raises(ClientError) as full:
        client.delete_bucket(Bucket="made-here")
    assert code(full) == (409, "BucketNotEmpty")
    client.delete_object(Bucket="made-here", Key="x")
    client.delete_bucket(Bucket="made-here")
    with pytest.raises(ClientError) as gone:
        client.head_bucket(Bucket="made-here")
    assert code(gone)[0] == 404
    with pytest.raises(ClientError) as bad:
        client.create_bucket(Bucket="Not_A_Bucket")
    assert code(bad) == (400, "InvalidBucketName")


def test_put_get_head_delete(s3: S3Server, bucket: str) -> None:
    client = s3.client()
    body = os.urandom(100_000)
    put = client.put_object(
        Bucket=bucket,
        Key="dir/file.bin",
        Body=body,
        ContentType="image/png",
        ContentDisposition='attachment; filename="x.png"',
        Metadata={"colour": "blue", "Camera": "x100"},
    )
    assert put["ETag"] == f'"{hashlib.md5(body).hexdigest()}"'
    got = client.get_object(Bucket=bucket, Key="dir/file.bin")
    assert got["Body"].read() == body
    assert got["ETag"] == put["ETag"]
    assert got["ContentType"] == "image/png"
    assert got["ContentDisposition"] == 'attachment; filename="x.png"'
    assert got["Metadata"] == {"colour": "blue", "camera": "x100"}
    head = client.head_object(Bucket=bucket, Key="dir/file.bin")
    assert head["ContentLength"] == len(body)
    part = client.get_object(Bucket=bucket, Key="dir/file.bin", Range="bytes=10-19")
    assert part["Body"].read() == body[10:20]
    assert part["ContentRange"] == f"bytes 10-19/{len(body)}"
    client.delete_object(Bucket=bucket, Key="dir/file.bin")
    with pytest.raises(ClientError) as gone:
        client.get_object(Bucket=bucket, Key="dir/file.bin")
    assert code(gone) == (404, "NoSuchKey")
    client.delete_object(Bucket=bucket, Key="dir/file.bin")  # absent: still 204


def test_missing_bucket_and_unsupported_features(s3: S3Server, bucket: str) -> None:
    client = s3.client()
    with pytest.raises(ClientError) as missing:
        client.put_object(Bucket="no-such-bucket-here", Key="k", Body=b"x")
    assert code(missing) == (404, "NoSuchBucket")
    with pytest.raises(ClientError) as acl:
        client.get_bucket_acl(Bucket=bucket)
    assert code(acl) == (501, "NotImplemented")
    with pytest.raises(ClientError) as tagging:
        client.get_object_tagging(Bucket=bucket, Key="k")
    assert code(tagging) == (501, "NotImplemented")


@pytest.mark.parametrize("algorithm", ["CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256"])
def test_checksums_are_verified_and_returned(s3: S3Server, bucket: str, algorithm: str) -> None:
    client = s3.client()
    body = b"checksummed " * 1000
    put = client.put_object(Bucket=bucket, Key=algorithm, Body=body, ChecksumAlgorithm=algorithm)
    head = client.head_object(Bucket=bucket, Key=algorithm, ChecksumMode="ENABLED")
    assert head[f"Checksum{algorithm}"] == put[f"Checksum{algorithm}"]
    got = client.get_object(Bucket=bucket, Key=algorithm, ChecksumMode="ENABLED")
    assert got["Body"].read() == body


def test_wrong_checksum_or_md5_stores_nothing(s3: S3Server, bucket: str) -> None:
    client = s3.client()
    with pytest.raises(ClientError) as crc:
        client.put_object(Bucket=bucket, Key="k", Body=b"abc", ChecksumCRC32="AAAAAA==")
    assert code(crc) == (400, "BadDigest")
    with pytest.raises(ClientError) as md5:
        client.put_object(
            Bucket=bucket, Key="k", Body=b"abc", ContentMD5="1B2M2Y8AsgTpgAmY7PhCfg=="
        )
    assert code(md5) == (400, "BadDigest")
    assert "Contents" not in client.list_objects_v2(Bucket=bucket)


def test_conditional_put(s3: S3Server, bucket: str) -> None:
    client = s3.client()
    first = client.put_object(Bucket=bucket, Key="once", Body=b"1", IfNoneMatch="*")
    with pytest.raises(ClientError) as exists:
        client.put_object(Bucket=bucket, Key="once", Body=b"2", IfNoneMatch="*")
    assert code(exists) == (412, "PreconditionFailed")
    client.put_object(Bucket=bucket, Key="once", Body=b"3", IfMatch=first["ETag"])
    with pytest.raises(ClientError) as stale:
        client.put_object(Bucket=bucket, Key="once", Body=b"4", IfMatch=first["ETag"])
    assert code(stale) == (412, "PreconditionFailed")
    assert client.get_object(Bucket=bucket, Key="once")["Body"].read() == b"3"


def test_conditional_get(s3: S3Server, bucket: str) -> None:
    client = s3.client()
    etag = client.put_object(Bucket=bucket, Key="c", Body=b"x")["ETag"]
    with pytest.raises(ClientError) as not_modified:
        client.get_object(Bucket=bucket, Key="c", IfNoneMatch=etag)
    assert code(not_modified)[0] == 304
    with pytest.raises(ClientError) as failed:
        client.get_object(Bucket=bucket, Key="c", IfMatch='"other"')
    assert code(failed) == (412, "PreconditionFailed")
    got = client.get_object(Bucket=bucket, Key="c", ResponseContentType="text/x-test")
    assert got["ContentType"] == "text/x-test"


def test_listing_v2_pages_and_folds(s3: S3Server, bucket: str) -> None:
    client = s3.client()
    keys = ["a/1", "a/2", "b", "c/d/e", "c/f", "d%20e", "é/x"]
    for key in keys:
        client.put_object(Bucket=bucket, Key=key, Body=b"")
    paginator = client.get_paginator("list_objects_v2")
    pages = paginator.paginate(Bucket=bucket, PaginationConfig={"PageSize": 2})
    listed = [o["Key"] for page in pages for o in page.get("Contents", [])]
    assert listed == sorted(keys, key=lambda k: k.encode())
    folded = client.list_objects_v2(Bucket=bucket, Delimiter="/")
    assert [o["Key"] for o in folded["Contents"]] == ["b", "d%20e"]
    assert [p["Prefix"] for p in folded["CommonPrefixes"]] == ["a/", "c/", "é/"]
    pages = list(paginator.paginate(Bucket=bucket, Delimiter="/", PaginationConfig={"PageSize": 1}))
    entries = [o["Key"] for p in pages for o in p.get("Contents", [])]
    entries += [c["Prefix"] for p in pages for c in p.get("CommonPrefixes", [])]
    assert sorted(entries) == ["a/", "b", "c/", "d%20e", "é/"]
    under = client.list_objects_v2(Bucket=bucket, Prefix="c/", Delimiter="/")
    assert [o["Key"] for o in under["Contents"]] == ["c/f"]
    assert [p["Prefix"] for p in under["CommonPrefixes"]] == ["c/d/"]
    after = client.list_objects_v2(Bucket=bucket, StartAfter="b")
    assert [o["Key"] for o in after["Contents"]][0] == "c/d/e"


def test_listing_v1_and_versions(s3: S3Server, bucket: str) -> None:
    client = s3.client()
    for key in ("k1", "k2", "k3"):
        client.put_object(Bucket=bucket, Key=key, Body=b"v")
    paginator = client.get_paginator("list_objects")
    pages = list(paginator.paginate(Bucket=bucket, PaginationConfig={"PageSize": 2}))
    assert [o["Key"] for p in pages for o in p["Contents"]] == ["k1", "k2", "k3"]
    versions = client.list_object_versions(Bucket=bucket)
    assert [(v["Key"], v["VersionId"]) for v in versions["Versions"]] == [
        ("k1", "null"), ("k2", "null"), ("k3", "null")
    ]  # fmt: skip


def test_delete_objects(s3: S3Server, bucket: str) -> None:
    client = s3.client()
    for key in ("x1", "x2"):
        client.put_object(Bucket=bucket, Key=key, Body=b"v")
    out = client.delete_objects(
        Bucket=bucket, Delete={"Objects": [{"Key": "x1"}, {"Key": "x2"}, {"Key": "absent"}]}
    )
    assert sorted(d["Key"] for d in out["Deleted"]) == ["absent", "x1", "x2"]
    assert "Contents" not in client.list_objects_v2(Bucket=bucket)


def test_upload_and_download_file(s3: S3Server, bucket: str, tmp_path: os.PathLike[str]) -> None:
    """The transfer manager below its multipart threshold, both ways."""
    client = s3.client()
    body = os.urandom(3 << 20)
    client.upload_fileobj(io.BytesIO(body), bucket, "up")
    out = io.BytesIO()
    client.download_fileobj(bucket, "up", out)
    assert out.getvalue() == body
