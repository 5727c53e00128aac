"""One store: an object over S3 is the blob ``bucket/key`` over REST, and back."""

from __future__ import annotations

import requests

from tests.s3api.conftest import S3Server


def test_s3_object_is_a_rest_blob(s3: S3Server, bucket: str) -> None:
    s3.client().put_object(
        Bucket=bucket, Key="docs/a.txt", Body=b"from s3", ContentType="text/plain"
    )
    got = requests.get(f"{s3.url}/blobs/{bucket}/docs/a.txt", timeout=10)
    assert got.status_code == 200
    assert got.content == b"from s3"
    assert got.headers["Content-Type"].startswith("text/plain")


def test_rest_blob_is_an_s3_object(s3: S3Server) -> None:
    put = requests.put(f"{s3.url}/blobs/restbucket/x/y.bin", data=b"from rest", timeout=10)
    assert put.status_code in (200, 201)
    client = s3.client()
    assert "restbucket" in [b["Name"] for b in client.list_buckets()["Buckets"]]
    got = client.get_object(Bucket="restbucket", Key="x/y.bin")
    assert got["Body"].read() == b"from rest"
    listed = client.list_objects_v2(Bucket="restbucket")
    assert [o["Key"] for o in listed["Contents"]] == ["x/y.bin"]
    client.delete_object(Bucket="restbucket", Key="x/y.bin")
    assert requests.get(f"{s3.url}/blobs/restbucket/x/y.bin", timeout=10).status_code == 404


def test_bucket_named_blobs_never_takes_the_rest_fast_paths(s3: S3Server) -> None:
    """``/blobs/k`` on the S3 port is the object ``k`` of the bucket ``blobs``: the worker's
    plain-GET shortcut and the lean PUT path of the REST port must not answer it."""
    rest_put = requests.put(f"{s3.url}/blobs/k", data=b"rest blob k", timeout=10)
    assert rest_put.status_code in (200, 201)
    # Unsigned, on the S3 port: refused as S3 refuses, never served as the REST blob "k".
    plain = requests.get(f"{s3.endpoint}/blobs/k", timeout=10)
    assert plain.status_code == 403
    assert plain.headers["Content-Type"] == "application/xml"
    assert b"rest blob k" not in plain.content
    unsigned_put = requests.put(f"{s3.endpoint}/blobs/k", data=b"overwrite", timeout=10)
    assert unsigned_put.status_code == 403
    client = s3.client()
    client.create_bucket(Bucket="blobs")
    client.put_object(Bucket="blobs", Key="k", Body=b"object k of bucket blobs")
    assert client.get_object(Bucket="blobs", Key="k")["Body"].read() == b"object k of bucket blobs"
    assert requests.get(f"{s3.url}/blobs/k", timeout=10).content == b"rest blob k"
    assert (
        requests.get(f"{s3.url}/blobs/blobs/k", timeout=10).content == b"object k of bucket blobs"
    )
