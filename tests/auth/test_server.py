"""Access control against a real ``blobstream serve``: roles, presigned URLs, CORS, limits, logs."""

from __future__ import annotations

import hashlib
import secrets
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
import requests

from blobstream.auth.presign import SIGNATURE_PARAM, presign_url
from tests.support import BIN, Server, free_port

READ, WRITE, ADMIN = (f"{role}-{secrets.token_urlsafe(12)}" for role in ("read", "write", "admin"))
UNKNOWN = f"unknown-{secrets.token_urlsafe(12)}"
SECRET = secrets.token_hex(16)
TRUSTED = "https://app.example"
OTHER = "https://evil.example"
TUS = {"Tus-Resumable": "1.0.0"}
SIGNATURES: list[str] = []  # every signature handed out, to look for in the log


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Tokens of each role, presigning, protected metrics, one CORS origin, tight limits."""
    root = tmp_path_factory.mktemp("auth")
    env = {
        "BLOBSTREAM_TOKENS": f"{READ}=read,{WRITE}=write,{ADMIN}=admin",
        "BLOBSTREAM_SECRET": SECRET,
        "BLOBSTREAM_PROTECT_METRICS": "1",
        "BLOBSTREAM_CORS_ORIGINS": TRUSTED,
        "BLOBSTREAM_MAX_UPLOADS_PER_TOKEN": "2",
        "BLOBSTREAM_BODY_TIMEOUT": "2",
    }
    srv = Server((root / "data").as_uri(), root / "server.log", args=("--workers", "1"), env=env)
    with srv:
        yield srv


def call(method: str, url: str, token: str | None = None, **kwargs: Any) -> requests.Response:
    headers = dict(kwargs.pop("headers", {}))
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    r = requests.request(method, url, headers=headers, timeout=30, **kwargs)
    r.close()
    return r


def put_blob(base: str, key: str, data: bytes = b"abc") -> None:
    assert call("PUT", f"{base}/blobs/{key}", ADMIN, data=data).status_code in (200, 201)


def new_upload(base: str) -> str:
    r = call("POST", base + "/uploads", ADMIN, headers={**TUS, "Upload-Length": "3"})
    assert r.status_code == 201, r.text
    return r.headers["Location"]


def presigned(base: str, key: str, method: str = "GET", **kwargs: Any) -> str:
    url = presign_url(base, key, method, kwargs.pop("expires_in", 60), SECRET.encode(), **kwargs)
    SIGNATURES.append(dict(parse_qsl(urlsplit(url).query))[SIGNATURE_PARAM])
    return url


def key() -> str:
    return f"auth/{uuid.uuid4().hex}"


# name -> (least role needed or None when open, the request, the status when allowed)
Request = Any
ENDPOINTS: dict[str, tuple[str | None, Request, int]] = {
    "GET blob": ("read", lambda b: ("GET", f"{b}/blobs/auth/fixed", {}), 200),
    "HEAD blob": ("read", lambda b: ("HEAD", f"{b}/blobs/auth/fixed", {}), 200),
    "list": ("read", lambda b: ("GET", f"{b}/blobs?prefix=auth/", {}), 200),
    "PUT blob": ("write", lambda b: ("PUT", f"{b}/blobs/{key()}", {"data": b"x"}), 201),
    "POST blob": ("write", lambda b: ("POST", f"{b}/blobs", {"data": b"x"}), 201),
    "DELETE blob": ("write", None, 204),
    "tus OPTIONS": ("write", lambda b: ("OPTIONS", f"{b}/uploads", {}), 204),
    "tus POST": (
        "write",
        lambda b: ("POST", f"{b}/uploads", {"headers": {**TUS, "Upload-Length": "3"}}),
        201,
    ),
    "tus PATCH": ("write", None, 204),
    "tus HEAD": ("write", None, 200),
    "tus DELETE": ("write", None, 204),
    "metrics (protected)": ("admin", lambda b: ("GET", f"{b}/metrics", {}), 200),
    "healthz": (None, lambda b: ("GET", f"{b}/healthz", {}), 200),
    "openapi": (None, lambda b: ("GET", f"{b}/openapi.json", {}), 200),
    "web page": (None, lambda b: ("GET", f"{b}/", {}), 200),
}
RANK = {"read": 1, "write": 2, "admin": 3}
CLIENTS = {"none": None, "unknown": UNKNOWN, "read": READ, "write": WRITE, "admin": ADMIN}


def prepared(name: str, base: str) -> tuple[str, str, dict[str, Any]]:
    """The request of ``name``, creating what it acts on (as admin) first."""
    if name == "DELETE blob":
        k = key()
        put_blob(base, k)
        return "DELETE", f"{base}/blobs/{k}", {}
    if name.startswith("tus ") and name != "tus POST" and name != "tus OPTIONS":
        url = new_upload(base)
        method = name.split()[1]
        if method == "PATCH":
            headers = {
                **TUS,
                "Upload-Offset": "0",
                "Content-Type": "application/offset+octet-stream",
            }
            return method, url, {"headers": headers, "data": b"abc"}
        return method, url, {"headers": TUS}
    make = ENDPOINTS[name][1]
    result: tuple[str, str, dict[str, Any]] = make(base)
    return result


@pytest.mark.parametrize("client", list(CLIENTS))
@pytest.mark.parametrize("name", list(ENDPOINTS))
def test_role_table(guarded: Server, name: str, client: str) -> None:
    needed, _, ok_status = ENDPOINTS[name]
    if name in ("GET blob", "HEAD blob"):
        put_blob(guarded.url, "auth/fixed")
    method, url, kwargs = prepared(name, guarded.url)
    r = call(method, url, CLIENTS[client], **kwargs)
    if needed is None or (client in RANK and RANK[client] >= RANK[needed]):
        assert r.status_code == ok_status, r.text
    elif client in ("none", "unknown"):
        assert r.status_code == 401, r.text
        assert r.headers["WWW-Authenticate"].startswith('Bearer realm="blobstream"')
        assert r.headers["Content-Type"] == "application/problem+json"
        assert UNKNOWN not in r.text
    else:
        assert r.status_code == 403, r.text
        assert r.headers["Content-Type"] == "application/problem+json"
        if method != "HEAD":
            assert f"needs {needed}" in r.json()["detail"]


@pytest.mark.parametrize(
    "authorization", ["Basic YTpi", "Bearer", "Bearer ", "Token abc", f"bearer {UNKNOWN}"]
)
def test_malformed_or_unknown_authorization_is_401(guarded: Server, authorization: str) -> None:
    r = call("GET", guarded.url + "/blobs", headers={"Authorization": authorization})
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"].startswith("Bearer")
    assert UNKNOWN not in r.text


def test_bearer_scheme_is_case_insensitive(guarded: Server) -> None:
    r = call("GET", guarded.url + "/blobs", headers={"Authorization": f"bEaReR {READ}"})
    assert r.status_code == 200


def test_presigned_get_and_head_within_expiry_need_no_token(guarded: Server) -> None:
    k = key()
    put_blob(guarded.url, k, b"presigned body")
    url = presigned(guarded.url, k)
    got = call("GET", url)
    assert got.status_code == 200 and got.content == b"presigned body"
    assert call("HEAD", url).status_code == 200


def test_presigned_put_stores_the_body(guarded: Server) -> None:
    k = key()
    r = call("PUT", presigned(guarded.url, k, "PUT"), data=b"uploaded")
    assert r.status_code == 201, r.text
    assert call("GET", f"{guarded.url}/blobs/{k}", READ).content == b"uploaded"


def test_presigned_delete(guarded: Server) -> None:
    k = key()
    put_blob(guarded.url, k)
    assert call("DELETE", presigned(guarded.url, k, "DELETE")).status_code == 204
    assert call("GET", f"{guarded.url}/blobs/{k}", READ).status_code == 404


def tampered(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    params = {**dict(parse_qsl(parts.query)), **changes}
    return parts._replace(query=urlencode(params)).geturl()


@pytest.mark.parametrize(
    "case",
    [
        "expired",
        "signature",
        "expiry",
        "method param",
        "other method",
        "other key",
        "missing signature",
        "list",
    ],
)
def test_presigned_misuse_is_refused(guarded: Server, case: str) -> None:
    k = key()
    put_blob(guarded.url, k)
    url = presigned(guarded.url, k)
    sig = dict(parse_qsl(urlsplit(url).query))[SIGNATURE_PARAM]
    method = "GET"
    if case == "expired":
        url = presigned(guarded.url, k, now=time.time() - 120)
    elif case == "signature":
        url = tampered(url, **{SIGNATURE_PARAM: ("0" if sig[0] != "0" else "1") + sig[1:]})
    elif case == "expiry":
        url = tampered(url, **{"X-Blobstream-Expires": str(int(time.time()) + 10**6)})
    elif case == "method param":
        url = tampered(url, **{"X-Blobstream-Method": "DELETE"})
        method = "DELETE"
    elif case == "other method":
        method = "DELETE"
    elif case == "other key":
        other = key()
        put_blob(guarded.url, other)
        url = url.replace(k, other)
    elif case == "missing signature":
        url = tampered(url, **{SIGNATURE_PARAM: ""})
    elif case == "list":
        url = guarded.url + "/blobs?" + urlsplit(url).query
    r = call(method, url)
    assert r.status_code in (401, 403), r.text
    assert r.headers["Content-Type"] == "application/problem+json"
    assert sig not in r.text
    assert call("GET", f"{guarded.url}/blobs/{k}", READ).status_code == 200  # still there


def test_presigned_url_expires(guarded: Server) -> None:
    k = key()
    put_blob(guarded.url, k)
    url = presigned(guarded.url, k, expires_in=1)
    assert call("GET", url).status_code == 200
    expires = int(dict(parse_qsl(urlsplit(url).query))["X-Blobstream-Expires"])
    time.sleep(max(0.0, expires - time.time()) + 0.2)
    r = call("GET", url)
    assert r.status_code == 403
    assert "expired" in r.json()["detail"]


def test_cors_preflight_from_allowed_origin_needs_no_token(guarded: Server) -> None:
    headers = {
        "Origin": TRUSTED,
        "Access-Control-Request-Method": "PUT",
        "Access-Control-Request-Headers": "authorization, content-type",
    }
    r = call("OPTIONS", f"{guarded.url}/blobs/{key()}", headers=headers)
    assert r.status_code == 204
    assert r.headers["Access-Control-Allow-Origin"] == TRUSTED
    assert "PUT" in r.headers["Access-Control-Allow-Methods"]
    assert "authorization" in r.headers["Access-Control-Allow-Headers"].lower()
    got = call("GET", guarded.url + "/blobs", READ, headers={"Origin": TRUSTED})
    assert got.headers["Access-Control-Allow-Origin"] == TRUSTED
    assert "Origin" in got.headers["Vary"]
    denied = call("GET", guarded.url + "/blobs", headers={"Origin": TRUSTED})
    assert denied.status_code == 401
    assert denied.headers["Access-Control-Allow-Origin"] == TRUSTED  # the page can read why


@pytest.mark.parametrize("path", ["/blobs/x", "/uploads"])
def test_cors_preflight_from_other_origin_is_refused(guarded: Server, path: str) -> None:
    headers = {
        "Origin": OTHER,
        "Access-Control-Request-Method": "DELETE",
        "Access-Control-Request-Headers": "authorization",
    }
    r = call("OPTIONS", guarded.url + path, headers=headers)
    assert r.status_code == 403
    assert "Access-Control-Allow-Origin" not in r.headers
    got = call("GET", guarded.url + "/blobs", READ, headers={"Origin": OTHER})
    assert got.status_code == 200
    assert "Access-Control-Allow-Origin" not in got.headers


def open_upload(base_port: int, token: str, k: str) -> socket.socket:
    """A PUT whose body stalls after a few bytes: it holds an upload slot until it times out."""
    sock = socket.create_connection(("127.0.0.1", base_port), timeout=10)
    sock.sendall(
        f"PUT /blobs/{k} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
        "Content-Length: 1000\r\n\r\nsome bytes".encode()
    )
    return sock


def read_response(sock: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        piece = sock.recv(65536)
        if not piece:
            break
        data += piece
    return data


def test_concurrent_uploads_per_token_are_capped(guarded: Server) -> None:
    held = [open_upload(guarded.port, WRITE, key()) for _ in range(2)]
    try:
        time.sleep(0.5)
        r = call("PUT", f"{guarded.url}/blobs/{key()}", WRITE, data=b"third")
        assert r.status_code == 429, r.text
        assert r.headers["Content-Type"] == "application/problem+json"
        assert int(r.headers["Retry-After"]) > 0
        assert call("PUT", f"{guarded.url}/blobs/{key()}", ADMIN, data=b"x").status_code == 201
    finally:
        for sock in held:
            sock.close()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # the closed uploads give their slots back
        if call("PUT", f"{guarded.url}/blobs/{key()}", WRITE, data=b"x").status_code == 201:
            break
        time.sleep(0.2)
    else:
        pytest.fail("upload slots were not released")


def test_slow_loris_body_is_timed_out(guarded: Server) -> None:
    k = key()
    start = time.monotonic()
    with open_upload(guarded.port, WRITE, k) as sock:
        time.sleep(1)  # under the 2 s timeout: the clock restarts with each byte
        sock.sendall(b"x")
        last_byte = time.monotonic()
        response = read_response(sock)
    waited = time.monotonic() - last_byte
    assert response.startswith(b"HTTP/1.1 408"), response
    assert 1.5 < waited < 6, waited
    assert time.monotonic() - start < 10
    assert call("GET", f"{guarded.url}/blobs/{k}", READ).status_code == 404  # nothing stored
    assert call("GET", guarded.url + "/healthz").status_code == 200


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Big": "a" * 20000},
        {f"X-Many-{i}": "v" for i in range(150)},
    ],
)
def test_oversized_headers_are_refused(guarded: Server, headers: dict[str, str]) -> None:
    r = call("GET", guarded.url + "/blobs", READ, headers=headers)
    assert r.status_code in (400, 431)
    assert call("GET", guarded.url + "/healthz").status_code == 200


def test_oversized_request_line_is_refused(guarded: Server) -> None:
    r = call("GET", f"{guarded.url}/blobs/{'a' * 9000}", READ)
    assert r.status_code in (400, 414)


def test_tokens_file_with_plain_and_hashed_tokens(tmp_path: Path) -> None:
    hashed_admin = secrets.token_urlsafe(16)
    tokens = tmp_path / "tokens"
    digest = hashlib.sha256(hashed_admin.encode()).hexdigest()
    tokens.write_text(f"# readers\n{READ} read\nsha256:{digest} admin\n")
    srv = Server(
        (tmp_path / "data").as_uri(), tmp_path / "server.log", args=("--tokens-file", str(tokens))
    )
    with srv:
        assert call("GET", srv.url + "/blobs", READ).status_code == 200
        assert call("PUT", f"{srv.url}/blobs/k", READ, data=b"x").status_code == 403
        assert call("PUT", f"{srv.url}/blobs/k", hashed_admin, data=b"x").status_code == 201
        assert call("GET", srv.url + "/blobs", f"sha256:{digest}").status_code == 401
        assert call("GET", srv.url + "/blobs").status_code == 401
        assert call("GET", srv.url + "/metrics").status_code == 200  # not protected here
        assert "1 token" not in srv.log() and "2 token(s) configured" in srv.log()


def test_bad_tokens_config_stops_serve_without_echoing_it(tmp_path: Path) -> None:
    token = secrets.token_urlsafe(16)
    result = subprocess.run(
        [str(BIN / "blobstream"), "serve", "--storage", (tmp_path / "d").as_uri()],
        env={"BLOBSTREAM_TOKENS": f"{token}=owner", "PATH": ""},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "not read, write or admin" in result.stderr
    assert token not in result.stderr + result.stdout


def test_refuses_to_serve_anonymously_off_loopback(tmp_path: Path) -> None:
    port = free_port()
    result = subprocess.run(
        [str(BIN / "blobstream"), "serve", "--storage", (tmp_path / "d").as_uri()]
        + ["--host", "0.0.0.0", "--port", str(port)],
        env={"PATH": ""},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "BLOBSTREAM_TOKENS" in result.stderr and "--tokens-file" in result.stderr
    assert "--allow-anonymous" in result.stderr


def test_allow_anonymous_serves_off_loopback(tmp_path: Path) -> None:
    srv = Server(
        (tmp_path / "data").as_uri(),
        tmp_path / "server.log",
        args=("--host", "0.0.0.0", "--allow-anonymous"),
        env={"BLOBSTREAM_TOKENS": ""},
    )
    with srv:
        assert call("PUT", f"{srv.url}/blobs/k", data=b"x").status_code == 201
        assert "--allow-anonymous given" in srv.log()


def test_loopback_without_tokens_is_anonymous_and_says_so(server: Server) -> None:
    assert call("GET", server.url + "/blobs").status_code == 200
    assert "anonymous requests are served because the server is bound to loopback" in server.log()


def test_cli_presign_url_works_without_a_token(guarded: Server) -> None:
    k = key()
    put_blob(guarded.url, k, b"via cli")
    result = subprocess.run(
        [str(BIN / "blobstream"), "presign", k, "--expires", "60"],
        env={"BLOBSTREAM_URL": guarded.url, "BLOBSTREAM_SECRET": SECRET, "PATH": ""},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    url = result.stdout.strip().splitlines()[-1]
    SIGNATURES.append(dict(parse_qsl(urlsplit(url).query))[SIGNATURE_PARAM])
    assert call("GET", url).content == b"via cli"


def test_openapi_describes_the_security_schemes(guarded: Server) -> None:
    spec = call("GET", guarded.url + "/openapi.json").json()
    assert set(spec["components"]["securitySchemes"]) == {"bearerToken", "presignedUrl"}
    assert spec["paths"]["/healthz"]["get"]["security"] == []
    assert "401" in spec["paths"]["/blobs/{key}"]["put"]["responses"]


def test_no_secret_in_the_log(guarded: Server) -> None:
    """Runs last in this module: every token, the secret and each signature were used by now."""
    call("GET", guarded.url + "/blobs", UNKNOWN)
    url = presigned(guarded.url, key())
    call("GET", url)
    call("GET", url.replace("auth/", "other/"))
    log = guarded.log()
    assert "X-Blobstream-Signature=REDACTED" in log  # presigned requests were logged
    for secret in (READ, WRITE, ADMIN, UNKNOWN, SECRET, *SIGNATURES):
        assert secret not in log
