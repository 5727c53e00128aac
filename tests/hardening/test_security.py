"""Security review as tests: traversal in keys, planted symlinks, header injection, smuggling."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import requests

from tests.acceptance.helpers import (
    TIMEOUT,
    assert_problem,
    connect,
    data_files,
    get,
    put,
    raw,
    read_response,
    unique,
)
from tests.hardening.conftest import indexed_files
from tests.support import Server

# Paths as sent on the wire (not normalised by any client): each must be refused.
TRAVERSALS = [
    "/blobs/..",
    "/blobs/../etc/passwd",
    "/blobs/a/../../etc/passwd",
    "/blobs/%2e%2e",
    "/blobs/%2E%2E/etc/passwd",
    "/blobs/a/%2e%2e/%2e%2e/etc",
    "/blobs/a%2f..%2f..%2fetc",
    "/blobs/.%2e/x",
    "/blobs/%2e",
    "/blobs//etc/passwd",
    "/blobs/%2fetc%2fpasswd",
    "/blobs/a%00.txt",
    "/blobs/a%0d%0aX:y",
    "/blobs/%c0%ae%c0%ae/x",  # overlong UTF-8 for '.'
    "/blobs/%e0%80%ae%e0%80%ae/x",
    "/blobs/%ff",
    "/blobs/" + "a" * 1025,
    "/blobs/" + "%c3%a9" * 513,  # 1026 bytes of UTF-8, 513 characters
]


@pytest.mark.parametrize("path", TRAVERSALS)
@pytest.mark.parametrize("method", ["PUT", "GET", "DELETE"])
def test_traversal_and_bad_keys_are_400(server: Server, path: str, method: str) -> None:
    body = b"evil" if method == "PUT" else b""
    head = f"{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n"
    answer = raw(server, head.encode() + b"Connection: close\r\n\r\n" + body, method)
    assert_problem(answer, 400)


@pytest.mark.parametrize("key", ["..\\..\\etc\\passwd", "a\\..\\b", "C:\\Windows", "~root/.ssh"])
def test_backslash_and_tilde_keys_are_plain_names_inside_the_store(
    fresh_server: Server, key: str
) -> None:
    """S3 allows these characters; they name a blob, never a path on the server's disk."""
    root = Path(fresh_server.storage.removeprefix("file://"))
    assert put(fresh_server, key, b"inside").status_code == 201
    assert get(fresh_server, key).content == b"inside"
    files = data_files(root)
    assert len(files) == 1 and files[0].resolve().is_relative_to(root.resolve())
    assert indexed_files(root)[key] == files[0].name
    r = requests.get(f"{fresh_server.url}/blobs/{key}?download=", timeout=TIMEOUT)
    assert "\\" not in r.headers["Content-Disposition"].split(";")[1]


def test_symlink_planted_as_a_data_file_is_not_followed(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_bytes(b"outside the store")
    root = tmp_path / "data"
    with Server(root.as_uri(), tmp_path / "server.log") as srv:
        assert put(srv, "victim", b"inside").status_code == 201
        (target,) = data_files(root)
        target.unlink()
        target.symlink_to(secret)
        r = get(srv, "victim")
        assert b"outside" not in r.content
        assert_problem(r, 503)
        assert "symbolic" not in r.text and str(tmp_path) not in r.text


def test_symlink_planted_as_a_data_directory_is_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    root = tmp_path / "data"
    with Server(root.as_uri(), tmp_path / "server.log") as srv:
        assert put(srv, "victim", b"inside").status_code == 201
        (target,) = data_files(root)
        (outside / target.name).write_bytes(b"outside the store")
        bucket = target.parent
        bucket.rename(tmp_path / "moved-bucket")
        bucket.symlink_to(outside)
        r = get(srv, "victim")
        assert b"outside" not in r.content
        assert_problem(r, 503)


def test_server_refuses_to_start_on_a_symlinked_directory(tmp_path: Path) -> None:
    root = tmp_path / "data"
    with Server(root.as_uri(), tmp_path / "first.log"):
        pass
    outside = tmp_path / "outside"
    (root / "tmp").rename(outside)
    (root / "tmp").symlink_to(outside)
    srv = Server(root.as_uri(), tmp_path / "server.log")
    with pytest.raises(RuntimeError, match="symbolic link"):
        srv.start()
    srv.stop()


INJECTIONS = [
    ("a%0d%0aX-Injected:%20yes", "aX-Injected: yes"),
    ("%0d%0a%0d%0a%3Chtml%3E", "<html>"),
    ("a%0aSet-Cookie:%20s=1", "aSet-Cookie: s=1"),
    ("a%22%3b%20filename%3devil.exe", None),
    ("..%2f..%2fetc%2fpasswd", "passwd"),
    ("..%5c..%5cwin.ini", "win.ini"),
    ("a%00b", "a_b"),
    ("%e2%80%aeexe.txt", None),
]


@pytest.mark.parametrize(("query", "fallback"), INJECTIONS)
def test_download_name_cannot_inject_headers(
    server: Server, query: str, fallback: str | None
) -> None:
    key = unique("disposition")
    put(server, key, b"x")
    with connect(server) as sock:
        sock.sendall(f"GET /blobs/{key}?download={query} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        answer = read_response(sock)
    assert answer.status == 200
    assert "X-Injected" not in answer.headers and "Set-Cookie" not in answer.headers
    disposition = answer.headers["Content-Disposition"]
    assert "\r" not in disposition and "\n" not in disposition
    assert disposition.startswith('attachment; filename="')
    name = disposition.split('filename="', 1)[1].split('"', 1)[0]
    assert "/" not in name and "\\" not in name
    if fallback is not None:
        assert name == fallback


def test_key_names_never_become_markup_in_problems(server: Server) -> None:
    r = requests.get(f"{server.url}/blobs/<script>alert(1)</script>", timeout=TIMEOUT)
    assert_problem(r, 404)
    assert r.headers["Content-Type"] == "application/problem+json"
    assert r.headers.get("X-Content-Type-Options", "nosniff") == "nosniff"


SMUGGLING = {
    "cl-te": "Content-Length: 4\r\nTransfer-Encoding: chunked\r\n",
    "te-cl": "Transfer-Encoding: chunked\r\nContent-Length: 4\r\n",
    "te-space-before-colon": "Transfer-Encoding : chunked\r\nContent-Length: 4\r\n",
    "te-xchunked": "Transfer-Encoding: xchunked\r\n",
    "te-identity-chunked": "Transfer-Encoding: identity, chunked\r\nContent-Length: 4\r\n",
    "te-chunked-twice": "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n",
    "te-tab": "Transfer-Encoding:\tchunked\r\nContent-Length: 4\r\n",
    "te-obs-fold": "Transfer-Encoding: gzip\r\n chunked\r\nContent-Length: 4\r\n",
    "te-vertical-tab": "Transfer-Encoding: \x0bchunked\r\nContent-Length: 4\r\n",
    "cl-cl": "Content-Length: 4\r\nContent-Length: 40\r\n",
}


@pytest.mark.parametrize("name", sorted(SMUGGLING))
def test_request_smuggling_never_reaches_the_app_as_a_second_request(
    server: Server, name: str
) -> None:
    """A front end reading the other framing must not get a hidden request through.

    The body carries a smuggled ``DELETE`` of a bystander: whatever the server
    answers to the first request, the bystander survives.
    """
    bystander = unique("bystander")
    put(server, bystander, b"keep me")
    smuggled = f"DELETE /blobs/{bystander} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"
    body = f"0\r\n\r\n{smuggled}"
    key = unique("smuggle")
    head = f"PUT /blobs/{key} HTTP/1.1\r\nHost: x\r\n{SMUGGLING[name]}\r\n"
    with connect(server) as sock:
        sock.sendall(head.encode() + body.encode())
        first = read_response(sock, "PUT")
        # RFC 9112 §6.1: an unknown transfer coding is a 501 (gunicorn answers it).
        assert first.status < 500 or first.status == 501 and name == "te-xchunked", first.body
        if first.status >= 400:
            assert first.headers["Content-Type"] == "application/problem+json"
        try:
            while True:
                second = read_response(sock)
                assert second.status < 500
        except (OSError, ValueError, ConnectionError):
            pass  # the server closed the connection: nothing more was parsed
    assert get(server, bystander).content == b"keep me"


def test_problem_details_never_echo_secrets_or_paths(tmp_path: Path) -> None:
    root = tmp_path / "data"
    token = "s3cr3t-token-value"
    srv = Server(
        root.as_uri(),
        tmp_path / "server.log",
        env={"BLOBSTREAM_TOKENS": f"{token}=admin", "BLOBSTREAM_SECRET": "presign-secret-xyz"},
    )
    with srv:
        auth = {"Authorization": f"Bearer {token}"}
        url = f"{srv.url}/blobs/k?X-Blobstream-Signature=deadbeef&X-Blobstream-Expires=1"
        requests.get(url, timeout=TIMEOUT).close()
        requests.get(f"{srv.url}/blobs/k", headers={"Authorization": "Bearer wrong-tok"}).close()
        r = requests.put(f"{srv.url}/blobs/k", data=b"x", headers=auth, timeout=TIMEOUT)
        assert r.status_code == 201
        # A storage fault answers 503 without the storage's path.
        os.rename(root, tmp_path / "gone")
        (root).write_bytes(b"")
        try:
            r = requests.get(f"{srv.url}/blobs/k", headers=auth, timeout=TIMEOUT)
            assert r.status_code == 503
            assert str(tmp_path) not in r.text
            health = requests.get(f"{srv.url}/healthz", timeout=TIMEOUT)
            assert str(tmp_path) not in health.text
        finally:
            root.unlink()
            os.rename(tmp_path / "gone", root)
    log = srv.log()
    for secret in (token, "presign-secret-xyz", "deadbeef", "wrong-tok"):
        assert secret not in log, secret
    assert json.loads(r.text)["status"] == 503
