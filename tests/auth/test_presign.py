"""Presigned URLs: what they grant, and every way to get one wrong (``now`` pins the clock)."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import pytest

from blobstream.auth.presign import (
    EXPIRES_PARAM,
    METHOD_PARAM,
    SIGNATURE_PARAM,
    presign_url,
    verify_presigned,
)
from blobstream.errors import Forbidden

SECRET = b"presign-secret"
NOW = 1_800_000_000.0


def params_of(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query))


def test_url_shape() -> None:
    url = presign_url("http://h:1/api/", "a b/ü.txt", "get", 60, SECRET, now=NOW)
    parts = urlsplit(url)
    assert parts.path == "/api/blobs/a%20b/%C3%BC.txt"
    params = params_of(url)
    assert params[METHOD_PARAM] == "GET"
    assert params[EXPIRES_PARAM] == str(int(NOW) + 60)
    assert len(params[SIGNATURE_PARAM]) == 64


@pytest.mark.parametrize(
    ("granted", "method", "key", "now", "change", "error"),
    [
        ("GET", "GET", "k", NOW, {}, None),
        ("GET", "HEAD", "k", NOW, {}, None),
        ("PUT", "PUT", "k", NOW + 59, {}, None),
        ("DELETE", "DELETE", "k", NOW, {}, None),
        ("GET", "GET", "k", NOW + 60, {}, "expired"),
        ("GET", "GET", "k", NOW + 10_000, {}, "expired"),
        ("GET", "PUT", "k", NOW, {}, "grants GET only"),
        ("GET", "DELETE", "k", NOW, {}, "grants GET only"),
        ("PUT", "GET", "k", NOW, {}, "grants PUT only"),
        ("HEAD", "GET", "k", NOW, {}, "grants HEAD only"),
        ("GET", "GET", "other", NOW, {}, "signature does not match"),
        ("GET", "GET", "k/", NOW, {}, "signature does not match"),
        ("GET", "GET", "k", NOW, {EXPIRES_PARAM: str(int(NOW) + 9999)}, "signature does not"),
        ("GET", "GET", "k", NOW, {METHOD_PARAM: "PUT"}, "signature does not match"),
        ("GET", "GET", "k", NOW, {SIGNATURE_PARAM: "0" * 64}, "signature does not match"),
        ("GET", "GET", "k", NOW, {SIGNATURE_PARAM: ""}, "needs"),
        ("GET", "GET", "k", NOW, {SIGNATURE_PARAM: "zz\u00e9"}, "signature does not match"),
        ("GET", "GET", "k", NOW, {EXPIRES_PARAM: "-5"}, "Unix seconds"),
        ("GET", "GET", "k", NOW, {EXPIRES_PARAM: "1e9"}, "Unix seconds"),
        ("GET", "GET", "k", NOW, {EXPIRES_PARAM: "9" * 40}, "Unix seconds"),
        ("GET", "GET", "k", NOW, {EXPIRES_PARAM: "\u0661\u0662"}, "Unix seconds"),
        ("GET", "GET", "k", NOW, {METHOD_PARAM: ""}, "needs"),
    ],
)
def test_verify(
    granted: str, method: str, key: str, now: float, change: dict[str, str], error: str | None
) -> None:
    params = {**params_of(presign_url("http://h", "k", granted, 60, SECRET, now=NOW)), **change}
    if error is None:
        verify_presigned(method, key, params, SECRET, now=now)
    else:
        with pytest.raises(Forbidden, match=error) as info:
            verify_presigned(method, key, params, SECRET, now=now)
        signature = params.get(SIGNATURE_PARAM)
        if signature:
            assert signature not in info.value.detail


def test_another_secret_does_not_verify() -> None:
    params = params_of(presign_url("http://h", "k", "GET", 60, SECRET, now=NOW))
    with pytest.raises(Forbidden, match="signature"):
        verify_presigned("GET", "k", params, b"other-secret", now=NOW)


def test_a_server_without_secret_refuses_presigned_urls() -> None:
    params = params_of(presign_url("http://h", "k", "GET", 60, SECRET, now=NOW))
    with pytest.raises(Forbidden, match="BLOBSTREAM_SECRET"):
        verify_presigned("GET", "k", params, None, now=NOW)


@pytest.mark.parametrize(
    ("method", "expires_in", "secret", "message"),
    [
        ("POST", 60, SECRET, "grants one of"),
        ("GET", 0, SECRET, "positive"),
        ("GET", 60, b"", "secret"),
    ],
)
def test_presign_refuses_what_it_cannot_grant(
    method: str, expires_in: int, secret: bytes, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        presign_url("http://h", "k", method, expires_in, secret)
