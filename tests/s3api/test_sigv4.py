"""SigV4 as pure functions: AWS's published examples and botocore-signed requests."""

from __future__ import annotations

import hashlib

import pytest
from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials as BotoCredentials

from blobstream.auth.tokens import Role
from blobstream.s3 import sigv2, sigv4
from blobstream.s3.auth import authenticate
from blobstream.s3.credentials import AccessKey, Credentials
from blobstream.s3.errors import S3Error

AK = "AKIAIOSFODNN7EXAMPLE"
SK = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
EMPTY = sigv4.EMPTY_SHA256
NOW = sigv4.parse_amz_date("20130524T000000Z")
CREDS = Credentials([AccessKey(AK, SK, Role.ADMIN)])

# S3 API reference, "Signature Calculations for the Authorization Header":
# (method, path, query, headers, signature)
AWS_EXAMPLES = [
    (
        "GET", b"/test.txt", "",
        {"host": "examplebucket.s3.amazonaws.com", "range": "bytes=0-9",
         "x-amz-content-sha256": EMPTY, "x-amz-date": "20130524T000000Z"},
        "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
    ),
    (
        "PUT", b"/test$file.text", "",
        {"host": "examplebucket.s3.amazonaws.com", "date": "Fri, 24 May 2013 00:00:00 GMT",
         "x-amz-date": "20130524T000000Z", "x-amz-storage-class": "REDUCED_REDUNDANCY",
         "x-amz-content-sha256": hashlib.sha256(b"Welcome to Amazon S3.").hexdigest()},
        "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd",
    ),
    (
        "GET", b"/", "lifecycle",
        {"host": "examplebucket.s3.amazonaws.com", "x-amz-date": "20130524T000000Z",
         "x-amz-content-sha256": EMPTY},
        "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543",
    ),
    (
        "GET", b"/", "max-keys=2&prefix=J",
        {"host": "examplebucket.s3.amazonaws.com", "x-amz-date": "20130524T000000Z",
         "x-amz-content-sha256": EMPTY},
        "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("method", "path", "query", "headers", "signature"), AWS_EXAMPLES)
def test_aws_examples(
    method: str, path: bytes, query: str, headers: dict[str, str], signature: str
) -> None:
    signed = tuple(sorted(headers))
    credential = sigv4.Credential(AK, "20130524", "us-east-1", "s3")
    canonical = sigv4.canonical_request(
        method,
        sigv4.canonical_uri(path),
        sigv4.canonical_query(sigv4.split_query(query)),
        headers,
        signed,
        headers["x-amz-content-sha256"],
    )
    text = sigv4.string_to_sign("20130524T000000Z", credential.scope, canonical)
    assert sigv4.sign(sigv4.signing_key(SK, credential), text) == signature
    header = (
        f"AWS4-HMAC-SHA256 Credential={AK}/{credential.scope},"
        f"SignedHeaders={';'.join(signed)},Signature={signature}"
    )
    query_map = dict(pair.partition("=")[::2] for pair in query.split("&") if pair)
    caller, payload = authenticate(
        method, path, query, {**headers, "authorization": header}, query_map, CREDS, now=NOW
    )
    assert caller.access_key == AK and payload.mode == headers["x-amz-content-sha256"]


def test_aws_presigned_example() -> None:
    """sigv4-query-string-auth: GET /test.txt for a day."""
    query = (
        "X-Amz-Algorithm=AWS4-HMAC-SHA256"
        f"&X-Amz-Credential={AK}%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
        "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host"
        "&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
    )
    args = {n: v.replace("%2F", "/") for n, v in (p.split("=", 1) for p in query.split("&"))}
    headers = {"host": "examplebucket.s3.amazonaws.com"}
    caller, payload = authenticate("GET", b"/test.txt", query, headers, args, CREDS, now=NOW + 60)
    assert caller.access_key == AK and payload.mode == "UNSIGNED-PAYLOAD"
    with pytest.raises(S3Error, match="expired"):
        authenticate("GET", b"/test.txt", query, headers, args, CREDS, now=NOW + 86401)
    with pytest.raises(S3Error) as wrong_path:
        authenticate("GET", b"/test.txu", query, headers, args, CREDS, now=NOW + 60)
    assert wrong_path.value.s3_code == "SignatureDoesNotMatch"


def _environ_of(request: AWSRequest) -> tuple[bytes, str, dict[str, str], dict[str, str]]:
    from urllib.parse import unquote, urlsplit

    parts = urlsplit(request.url)
    headers = {n.lower(): v for n, v in request.headers.items()}
    headers["host"] = parts.netloc
    args = {unquote(n): unquote(v) for n, _, v in
            (p.partition("=") for p in parts.query.split("&") if p)}  # fmt: skip
    return unquote(parts.path).encode(), parts.query, headers, args


PATHS = ["/b/plain", "/b/with space", "/b/a+b=c&d", "/b/ünï/cödé", "/b/x~y_z-.", "/b/%25"]


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("query", ["", "list-type=2&prefix=a%2Fb&delimiter=%2F", "uploads"])
def test_botocore_signed_requests_verify(path: str, query: str) -> None:
    from urllib.parse import quote

    url = "http://127.0.0.1:9000" + quote(path) + (f"?{query}" if query else "")
    request = AWSRequest("PUT", url, data=b"body", headers={"X-Amz-Meta-A": "  x  y "})
    request.headers["x-amz-content-sha256"] = hashlib.sha256(b"body").hexdigest()
    S3SigV4Auth(BotoCredentials(AK, SK), "s3", "eu-west-3").add_auth(request)
    raw_path, query_string, headers, args = _environ_of(request)
    caller, _ = authenticate("PUT", raw_path, query_string, headers, args, CREDS)
    assert caller.access_key == AK
    headers["x-amz-meta-a"] = "changed"
    with pytest.raises(S3Error):
        authenticate("PUT", raw_path, query_string, headers, args, CREDS)


@pytest.mark.parametrize("path", PATHS)
def test_botocore_presigned_requests_verify(path: str) -> None:
    from urllib.parse import quote

    request = AWSRequest("GET", "http://127.0.0.1:9000" + quote(path))
    S3SigV4QueryAuth(BotoCredentials(AK, SK), "s3", "us-east-1", expires=60).add_auth(request)
    raw_path, query_string, headers, args = _environ_of(request)
    caller, payload = authenticate("GET", raw_path, query_string, headers, args, CREDS)
    assert caller.access_key == AK and payload.mode == "UNSIGNED-PAYLOAD"


def _auth(credential: str, signed: str = "host", signature: str = "0" * 64) -> str:
    return f"AWS4-HMAC-SHA256 Credential={credential},SignedHeaders={signed},Signature={signature}"


SCOPE = "20130524/us-east-1/s3/aws4_request"
MALFORMED = "AuthorizationHeaderMalformed"


@pytest.mark.parametrize(
    ("header", "code"),
    [
        (f"AWS4-HMAC-SHA256 Credential=a/{SCOPE}", MALFORMED),
        (_auth("a/2013/us-east-1/s3/aws4_request"), MALFORMED),
        (_auth("a/20130524/us-east-1/ec2/aws4_request"), MALFORMED),
        (_auth(f"a/{SCOPE}", signed="date"), MALFORMED),
        (_auth(f"a/{SCOPE}", signed="Host"), MALFORMED),
        (_auth(f"a/{SCOPE}", signature="xyz"), MALFORMED),
        (_auth("a/20130523/us-east-1/s3/aws4_request"), MALFORMED),
        (_auth(f"/{SCOPE}"), MALFORMED),
        ("Bearer abc", MALFORMED),
        ("AWS AK:sig", "AccessDenied"),
    ],
)
def test_malformed_authorization(header: str, code: str) -> None:
    with pytest.raises(sigv4.SignatureError) as err:
        sigv4.parse_authorization(header, "20130524T000000Z")
    assert err.value.code == code


@pytest.mark.parametrize(
    ("expires", "at", "code"),
    [("86400", NOW + 86401, "AccessDenied"), ("604801", NOW, "AuthorizationQueryParametersError"),
     ("-1", NOW, "AuthorizationQueryParametersError"), ("60", NOW - 3600, "AccessDenied")],
)  # fmt: skip
def test_presigned_time_limits(expires: str, at: float, code: str) -> None:
    query = {
        "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
        "X-Amz-Credential": f"{AK}/20130524/us-east-1/s3/aws4_request",
        "X-Amz-Date": "20130524T000000Z",
        "X-Amz-Expires": expires,
        "X-Amz-SignedHeaders": "host",
        "X-Amz-Signature": "0" * 64,
    }
    with pytest.raises(sigv4.SignatureError) as err:
        sigv4.check_time(sigv4.parse_presigned(query), at)
    assert err.value.code == code


def test_skew_of_header_signatures() -> None:
    fields = sigv4.SignedFields(
        sigv4.Credential(AK, "20130524", "us-east-1", "s3"), ("host",), "0" * 64, "20130524T000000Z"
    )
    sigv4.check_time(fields, NOW + 14 * 60)
    with pytest.raises(sigv4.SignatureError) as err:
        sigv4.check_time(fields, NOW + 16 * 60)
    assert err.value.code == "RequestTimeTooSkewed"


def test_sigv2_example() -> None:
    """The developer guide's "Object GET" example (Signature Version 2)."""
    headers = {"date": "Tue, 27 Mar 2007 19:36:42 +0000"}
    text = sigv2.string_to_sign(
        "GET", headers, headers["date"], "/awsexamplebucket1/photos/puppy.jpg"
    )
    assert sigv2.sign(SK, text) == "qgk2+6Sv9/oM7G3qLEjTH1a1l1g="
