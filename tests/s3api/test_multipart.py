"""Multipart uploads as SDKs drive them: parallel, out of order, retried, copied, listed."""

from __future__ import annotations

import hashlib
import io
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError

from tests.s3api.conftest import S3Server
from tests.s3api.test_objects import code

MIB = 1 << 20
PART = 5 * MIB


def _etag(parts: list[bytes]) -> str:
    digests = b"".join(hashlib.md5(p).digest() for p in parts)
    return f'"{hashlib.md5(digests).hexdigest()}-{len(parts)}"'


@pytest.mark.parametrize("checksums", ["when_supported", "when_required"])
def test_transfer_manager_both_ways(
    s3: S3Server, bucket: str, tmp_path: Path, checksums: str
) -> None:
    """boto3's upload_file (parallel parts, default CRC32 or none) and download_file
    (parallel ranged GETs)."""
    client = s3.client(
        request_checksum_calculation=checksums, response_checksum_validation=checksums
    )
    source = tmp_path / "source.bin"
    source.write_bytes(os.urandom(3 * PART + 12345))
    config = TransferConfig(multipart_threshold=PART, multipart_chunksize=PART, max_concurrency=10)
    client.upload_file(str(source), bucket, "big/file.bin", Config=config)
    head = client.head_object(Bucket=bucket, Key="big/file.bin")
    assert head["ContentLength"] == source.stat().st_size
    assert head["ETag"].endswith('-4"')
    target = tmp_path / "target.bin"
    client.download_file(bucket, "big/file.bin", str(target), Config=config)
    assert (
        hashlib.sha256(target.read_bytes()).digest() == hashlib.sha256(source.read_bytes()).digest()
    )


def test_parts_out_of_order_in_parallel_and_retried(s3: S3Server, bucket: str) -> None:
    client = s3.client()
    parts = [os.urandom(PART) for _ in range(3)] + [b"tail"]
    upload = client.create_multipart_upload(Bucket=bucket, Key="ooo", ContentType="text/x-parts",
                                            Metadata={"m": "v"})["UploadId"]  # fmt: skip

    def send(number: int) -> dict[str, object]:
        done = client.upload_part(
            Bucket=bucket, Key="ooo", UploadId=upload, PartNumber=number, Body=parts[number - 1]
        )
        return {"PartNumber": number, "ETag": done["ETag"]}

    client.upload_part(Bucket=bucket, Key="ooo", UploadId=upload, PartNumber=2, Body=b"stale")
    with ThreadPoolExecutor(4) as pool:
        sent = list(pool.map(send, [4, 2, 3, 1]))
    listed = client.list_parts(Bucket=bucket, Key="ooo", UploadId=upload)
    assert [p["PartNumber"] for p in listed["Parts"]] == [1, 2, 3, 4]
    assert [p["Size"] for p in listed["Parts"]] == [PART, PART, PART, 4]
    paged = client.list_parts(Bucket=bucket, Key="ooo", UploadId=upload, MaxParts=2)
    assert paged["IsTruncated"] and paged["NextPartNumberMarker"] == 2
    rest = client.list_parts(Bucket=bucket, Key="ooo", UploadId=upload, PartNumberMarker=2)
    assert [p["PartNumber"] for p in rest["Parts"]] == [3, 4]
    uploads = client.list_multipart_uploads(Bucket=bucket)["Uploads"]
    assert [(u["Key"], u["UploadId"]) for u in uploads] == [("ooo", upload)]
    done = client.complete_multipart_upload(
        Bucket=bucket, Key="ooo", UploadId=upload,
        MultipartUpload={"Parts": sorted(sent, key=lambda p: p["PartNumber"])},  # type: ignore[arg-type,return-value]
    )  # fmt: skip
    assert done["ETag"] == _etag(parts)
    got = client.get_object(Bucket=bucket, Key="ooo")
    assert got["Body"].read() == b"".join(parts)
    assert got["ContentType"] == "text/x-parts" and got["Metadata"] == {"m": "v"}
    second = client.get_object(Bucket=bucket, Key="ooo", PartNumber=2)
    assert second["Body"].read() == parts[1] and second["PartsCount"] == 4
    assert "Uploads" not in client.list_multipart_uploads(Bucket=bucket)
    with pytest.raises(ClientError) as gone:
        client.list_parts(Bucket=bucket, Key="ooo", UploadId=upload)
    assert code(gone) == (404, "NoSuchUpload")


def test_completion_refusals(s3: S3Server, bucket: str) -> None:
    client = s3.client()
    upload = client.create_multipart_upload(Bucket=bucket, Key="bad")["UploadId"]
    small = client.upload_part(Bucket=bucket, Key="bad", UploadId=upload, PartNumber=1, Body=b"a")
    last = client.upload_part(Bucket=bucket, Key="bad", UploadId=upload, PartNumber=2, Body=b"b")
    parts = [{"PartNumber": 1, "ETag": small["ETag"]}, {"PartNumber": 2, "ETag": last["ETag"]}]
    cases = [
        (parts, "EntityTooSmall"),
        ([parts[1], parts[0]], "InvalidPartOrder"),
        ([{"PartNumber": 3, "ETag": last["ETag"]}], "InvalidPart"),
        ([{"PartNumber": 2, "ETag": small["ETag"]}], "InvalidPart"),
    ]
    for listed, expected in cases:
        with pytest.raises(ClientError) as refused:
            client.complete_multipart_upload(
                Bucket=bucket,
                Key="bad",
                UploadId=upload,
                MultipartUpload={"Parts": listed},  # type: ignore[typeddict-item]
            )
        assert code(refused) == (400, expected)
    with pytest.raises(ClientError) as bad_id:
        client.upload_part(Bucket=bucket, Key="bad", UploadId="nope", PartNumber=1, Body=b"a")
    assert code(bad_id) == (404, "NoSuchUpload")
    client.abort_multipart_upload(Bucket=bucket, Key="bad", UploadId=upload)
    with pytest.raises(ClientError) as aborted:
        client.upload_part(Bucket=bucket, Key="bad", UploadId=upload, PartNumber=1, Body=b"a")
    assert code(aborted) == (404, "NoSuchUpload")
    assert "Contents" not in client.list_objects_v2(Bucket=bucket)


def test_upload_part_copy(s3: S3Server, bucket: str) -> None:
    client = s3.client()
    body = os.urandom(PART + 1000)
    client.put_object(Bucket=bucket, Key="src", Body=body)
    upload = client.create_multipart_upload(Bucket=bucket, Key="dst")["UploadId"]
    first = client.upload_part_copy(
        Bucket=bucket, Key="dst", UploadId=upload, PartNumber=1,
        CopySource={"Bucket": bucket, "Key": "src"}, CopySourceRange=f"bytes=0-{PART - 1}",
    )["CopyPartResult"]  # fmt: skip
    second = client.upload_part_copy(
        Bucket=bucket, Key="dst", UploadId=upload, PartNumber=2,
        CopySource=f"{bucket}/src",
    )["CopyPartResult"]  # fmt: skip
    client.complete_multipart_upload(
        Bucket=bucket, Key="dst", UploadId=upload,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": first["ETag"]},
                                   {"PartNumber": 2, "ETag": second["ETag"]}]},
    )  # fmt: skip
    assert client.get_object(Bucket=bucket, Key="dst")["Body"].read() == body[:PART] + body


@pytest.mark.parametrize("algorithm", ["CRC32", "CRC32C", "SHA256"])
def test_multipart_checksums(s3: S3Server, bucket: str, algorithm: str) -> None:
    client = s3.client()
    parts = [os.urandom(PART), b"end"]
    upload = client.create_multipart_upload(Bucket=bucket, Key="c", ChecksumAlgorithm=algorithm)
    sent = []
    for number, part in enumerate(parts, 1):
        done = client.upload_part(
            Bucket=bucket, Key="c", UploadId=upload["UploadId"], PartNumber=number, Body=part,
            ChecksumAlgorithm=algorithm,
        )  # fmt: skip
        sent.append({"PartNumber": number, "ETag": done["ETag"],
                     f"Checksum{algorithm}": done[f"Checksum{algorithm}"]})  # fmt: skip
    finished = client.complete_multipart_upload(
        Bucket=bucket,
        Key="c",
        UploadId=upload["UploadId"],
        MultipartUpload={"Parts": sent},  # type: ignore[typeddict-item]
    )
    assert finished[f"Checksum{algorithm}"].endswith("-2")
    head = client.head_object(Bucket=bucket, Key="c", ChecksumMode="ENABLED")
    assert head[f"Checksum{algorithm}"] == finished[f"Checksum{algorithm}"]
    out = io.BytesIO()
    client.download_fileobj(bucket, "c", out)
    assert out.getvalue() == b"".join(parts)
