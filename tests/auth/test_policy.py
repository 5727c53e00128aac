"""Which role each endpoint needs, and the CORS and redaction rules (pure functions)."""

from __future__ import annotations

import pytest

from blobstream.auth.config import is_loopback
from blobstream.auth.cors import CorsPolicy, parse_origins
from blobstream.auth.policy import required_role
from blobstream.auth.redact import redact
from blobstream.auth.tokens import Role

R, W, A = Role.READ, Role.WRITE, Role.ADMIN


@pytest.mark.parametrize(
    ("endpoint", "rule", "method", "protect", "expected"),
    [
        ("blobs.blob", "/blobs/<blobkey:key>", "GET", False, R),
        ("blobs.blob", "/blobs/<blobkey:key>", "HEAD", False, R),
        ("blobs.list_blobs", "/blobs", "GET", False, R),
        ("blobs.put_blob", "/blobs/<blobkey:key>", "PUT", False, W),
        ("blobs.post_blob", "/blobs", "POST", False, W),
        ("blobs.delete_blob", "/blobs/<blobkey:key>", "DELETE", False, W),
        ("tus.uploads", "/uploads", "POST", False, W),
        ("tus.uploads", "/uploads", "OPTIONS", False, W),
        ("tus.upload", "/uploads/<upload_id>", "HEAD", False, W),
        ("tus.upload", "/uploads/<upload_id>", "PATCH", False, W),
        ("tus.upload", "/uploads/<upload_id>", "DELETE", False, W),
        ("other.thing", "/api/uploads/<id>", "GET", False, W),
        ("health.healthz", "/healthz", "GET", True, None),
        ("openapi.openapi", "/openapi.json", "GET", True, None),
        ("metrics.metrics", "/metrics", "GET", False, None),
        ("metrics.metrics", "/metrics", "GET", True, A),
        ("web.index", "/", "GET", False, None),
        ("web.static", "/web/<path:filename>", "GET", False, None),
        ("web.index", "/", "POST", False, W),
        ("future.copy", "/copy/<key>", "GET", False, R),
        ("future.copy", "/copy/<key>", "POST", False, W),
        (None, None, "GET", False, None),
    ],
)
def test_required_role(
    endpoint: str | None, rule: str | None, method: str, protect: bool, expected: Role | None
) -> None:
    assert required_role(endpoint, rule, method, protect_metrics=protect) == expected


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("LOCALHOST", True),
        ("0.0.0.0", False),
        ("::", False),
        ("", False),
        ("192.168.1.5", False),
        ("example.com", False),
        ("localhost.example.com", False),
    ],
)
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, ()),
        ("", ()),
        ("https://a.example", ("https://a.example",)),
        (
            "https://a.example/, http://b.example:8080",
            ("https://a.example", "http://b.example:8080"),
        ),
        (["*", "https://a.example"], ("*", "https://a.example")),
    ],
)
def test_parse_origins(value: str | list[str] | None, expected: tuple[str, ...]) -> None:
    assert parse_origins(value) == expected


@pytest.mark.parametrize("value", ["a.example", "https://a.example/path", "ftp:/x"])
def test_parse_origins_refuses_what_is_not_an_origin(value: str) -> None:
    with pytest.raises(ValueError, match="origin"):
        parse_origins(value)


TRUSTED = "https://app.example"
OTHER = "https://evil.example"


@pytest.mark.parametrize(
    ("origins", "origin", "credentials", "expected"),
    [
        ((TRUSTED,), TRUSTED, True, TRUSTED),
        ((TRUSTED,), TRUSTED, False, TRUSTED),
        ((TRUSTED,), OTHER, False, None),
        ((TRUSTED,), OTHER, True, None),
        (("*",), OTHER, False, "*"),
        (("*",), OTHER, True, None),  # credentials only from listed origins
        (("*", TRUSTED), TRUSTED, True, TRUSTED),
        ((), TRUSTED, False, None),
        ((TRUSTED,), None, False, None),
        ((TRUSTED,), "null", False, None),
    ],
)
def test_cors_allow_origin(
    origins: tuple[str, ...], origin: str | None, credentials: bool, expected: str | None
) -> None:
    assert CorsPolicy(origins).allow_origin(origin, credentials) == expected


def test_preflight_allows_authorization_only_for_listed_origins() -> None:
    policy = CorsPolicy(("*", TRUSTED))
    trusted = policy.preflight_headers(TRUSTED, "authorization, content-type")
    assert trusted is not None and "Authorization" in trusted["Access-Control-Allow-Headers"]
    assert policy.preflight_headers(OTHER, "authorization") is None
    anonymous = policy.preflight_headers(OTHER, "content-type")
    assert anonymous is not None
    assert "Authorization" not in anonymous["Access-Control-Allow-Headers"]
    assert anonymous["Access-Control-Allow-Origin"] == "*"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            '"GET /blobs/a?X-Blobstream-Method=GET&X-Blobstream-Signature=abc123 HTTP/1.1"',
            '"GET /blobs/a?X-Blobstream-Method=GET&X-Blobstream-Signature=REDACTED HTTP/1.1"',
        ),
        (
            "/b?x-blobstream-signature=abc&X-Blobstream-Expires=9",
            "/b?x-blobstream-signature=REDACTED&X-Blobstream-Expires=9",
        ),
        ("Authorization: Bearer tok.en-1==", "Authorization: Bearer REDACTED"),
        ("authorization: bearer abc", "authorization: bearer REDACTED"),
        ("/x?access_token=zzz&a=1", "/x?access_token=REDACTED&a=1"),
        ("GET /blobs/plain HTTP/1.1", "GET /blobs/plain HTTP/1.1"),
        # no "=": only a bearer token can be there, in any case
        ("AUTHORIZATION: BEARER abc", "AUTHORIZATION: BEARER REDACTED"),
        ("token is BeArEr\tabc-def", "token is BeArEr\tREDACTED"),
        ("bearer", "bearer"),
        ("/x?a=1&b=2", "/x?a=1&b=2"),
    ],
)
def test_redact(line: str, expected: str) -> None:
    assert redact(line) == expected
