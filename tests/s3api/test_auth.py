"""Refusals: each a clear S3 error, and nothing stored."""

from __future__ import annotations

import time
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pytest
import requests
from botocore.exceptions import ClientError

from tests.s3api.conftest import ADMIN, READER, S3Server
from tests.s3api.test_objects import code


def test_wrong_secret_and_unknown_key(s3: S3Server, bucket: str) -> None:
    with pytest.raises(ClientError) as wrong:
        s3.client((ADMIN[0], "not-the-secret")).put_object(Bucket=bucket, Key="k", Body=b"x")
    assert code(wrong) == (403, "SignatureDoesNotMatch")
    with pytest.raises(ClientError) as unknown:
        s3.client(("AKIDNOBODY", "whatever")).list_objects_v2(Bucket=bucket)
    assert code(unknown) == (403, "InvalidAccessKeyId")
    assert "Contents" not in s3.client().list_objects_v2(Bucket=bucket)


def test_unsigned_request_is_refused(s3: S3Server, bucket: str) -> None:
    response = requests.put(f"{s3.endpoint}/{bucket}/k", data=b"x", timeout=10)
    assert response.status_code == 403
    assert b"<Code>AccessDenied</Code>" in response.content
    assert response.headers["Content-Type"] == "application/xml"


def test_read_only_key_cannot_write(s3: S3Server, bucket: str) -> None:
    s3.client().put_object(Bucket=bucket, Key="k", Body=b"x")
    reader = s3.client(READER)
    assert reader.get_object(Bucket=bucket, Key="k")["Body"].read() == b"x"
    with pytest.raises(ClientError) as put:
        reader.put_object(Bucket=bucket, Key="k", Body=b"y")
    assert code(put) == (403, "AccessDenied")
    with pytest.raises(ClientError) as delete:
        reader.delete_object(Bucket=bucket, Key="k")
    assert code(delete) == (403, "AccessDenied")
    assert s3.client().get_object(Bucket=bucket, Key="k")["Body"].read() == b"x"


def _tamper(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    query.update(changes)
    return urlunsplit(parts._replace(query=urlencode(query)))


@pytest.mark.parametrize("version", ["s3v4", "v2"])
def test_presigned_urls(s3: S3Server, bucket: str, version: str) -> None:
    """boto3 presigns with Signature Version 2 unless asked for s3v4: both work."""
    client = s3.client(signature_version="s3v4") if version == "s3v4" else s3.client()
    put_url = client.generate_presigned_url(
        "put_object", Params={"Bucket": bucket, "Key": "p"}, ExpiresIn=300
    )
    assert requests.put(put_url, data=b"presigned body", timeout=10).status_code == 200
    get_url = client.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "p"}, ExpiresIn=300
    )
    got = requests.get(get_url, timeout=10)
    assert got.status_code == 200 and got.content == b"presigned body"
    other_key = get_url.replace(f"/{bucket}/p?", f"/{bucket}/q?")
    assert requests.get(other_key, timeout=10).status_code == 403
    expires = "X-Amz-Expires" if version == "s3v4" else "Expires"
    longer = _tamper(
        get_url, **{expires: str(int(dict(parse_qsl(urlsplit(get_url).query))[expires]) + 1000)}
    )
    assert requests.get(longer, timeout=10).status_code == 403
    assert requests.put(get_url, data=b"no", timeout=10).status_code == 403
    expired = client.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "p"}, ExpiresIn=1
    )
    time.sleep(2.1)
    response = requests.get(expired, timeout=10)
    assert response.status_code == 403 and b"Request has expired" in response.content
    if version == "s3v4":
        too_long = client.generate_presigned_url(
            "get_object", Params={"Bucket": bucket, "Key": "p"}, ExpiresIn=8 * 24 * 3600
        )
        assert requests.get(too_long, timeout=10).status_code == 400
    assert client.get_object(Bucket=bucket, Key="p")["Body"].read() == b"presigned body"


def test_skewed_clock_is_refused(s3: S3Server, bucket: str) -> None:
    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    request = AWSRequest("GET", f"{s3.endpoint}/{bucket}?list-type=2")
    request.context["timestamp"] = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(time.time() - 3600))
    signer = S3SigV4Auth(Credentials(*ADMIN), "s3", "us-east-1")
    # botocore's add_auth without its clock: sign as if an hour ago.
    signer._modify_request_before_signing(request)
    canonical = signer.canonical_request(request)
    signature = signer.signature(signer.string_to_sign(request, canonical), request)
    signer._inject_signature_to_request(request, signature)
    response = requests.get(request.url, headers=dict(request.headers), timeout=10)
    assert response.status_code == 403
    assert b"RequestTimeTooSkewed" in response.content
