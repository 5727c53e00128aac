"""Each example in ``examples/`` served for real by gunicorn (sync, gthread) and ``flask run``.

A good upload returns its SHA-256; a mismatched, malformed or oversized body
gets its 4xx problem+json, leaves nothing visible and no traceback in the log;
downloads answer Range, If-None-Match and 416 through ``send_stream``.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from blobstream.flask import PROBLEM_JSON
from tests.examples.conftest import RUNNERS, ExampleApp
from tests.services import S3_ENV, MotoServer

LIMIT = 2 << 20
BODY = os.urandom((1 << 20) + 12345)  # more than one piece of receive_request's copy
S3_LIMIT = 10 << 20
S3_BODY = os.urandom((8 << 20) + 12345)  # two parts of the S3 example's multipart upload
SMALL = os.urandom(10_000)  # a refused body gunicorn can drain and keep the connection
TIMEOUT = 30


def content_digest(data: bytes) -> str:
    return f"sha-256=:{base64.b64encode(hashlib.sha256(data).digest()).decode()}:"


def assert_problem(response: requests.Response, status: int, slug: str | None = None) -> None:
    assert response.status_code == status, response.text[:300]
    assert response.headers["Content-Type"] == PROBLEM_JSON
    problem = response.json()
    assert problem["status"] == status and problem["title"] and problem["detail"]
    if slug is not None:
        assert problem["type"].endswith("/" + slug)


def declared_oversize(app: ExampleApp, path: str, headers: dict[str, str], limit: int) -> None:
    """A Content-Length over the limit is refused before a byte of the body is sent."""
    with socket.create_connection(("127.0.0.1", app.port), timeout=TIMEOUT) as sock:
        lines = [f"PUT {path} HTTP/1.1", "Host: example", f"Content-Length: {limit + 1}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        answer = http.client.HTTPResponse(sock, method="PUT")
        answer.begin()
        body = answer.read()
    assert (answer.status, answer.getheader("Content-Type")) == (413, PROBLEM_JSON), body
    assert b'"status":413' in body.replace(b" ", b"")


def pieces(total: int) -> Iterator[bytes]:
    piece = b"z" * (1 << 20)
    while total > 0:
        yield piece[:total]
        total -= len(piece)


def exercise(
    app: ExampleApp,
    prefix: str,
    headers: dict[str, str] | None = None,
    body: bytes = BODY,
    limit: int = LIMIT,
) -> None:
    headers = headers or {}
    base = app.url + prefix
    sha256 = hashlib.sha256(body).hexdigest()
    good = requests.put(
        base + "good.bin",
        data=body,
        headers={**headers, "Content-Digest": content_digest(body)},
        timeout=TIMEOUT,
    )
    assert good.status_code == 201, good.text[:300]
    assert (good.json()["size"], good.json()["sha256"]) == (len(body), sha256)

    whole = requests.get(base + "good.bin", headers=headers, timeout=TIMEOUT)
    assert whole.status_code == 200 and hashlib.sha256(whole.content).hexdigest() == sha256
    etag = whole.headers["ETag"]
    ranged = requests.get(
        base + "good.bin", headers={**headers, "Range": "bytes=100-199"}, timeout=TIMEOUT
    )
    assert (ranged.status_code, ranged.content) == (206, body[100:200])
    assert ranged.headers["Content-Range"] == f"bytes 100-199/{len(body)}"
    tail = requests.get(base + "good.bin", headers={**headers, "Range": "bytes=-10"}, timeout=30)
    assert (tail.status_code, tail.content) == (206, body[-10:])
    same = requests.get(base + "good.bin", headers={**headers, "If-None-Match": etag}, timeout=30)
    assert same.status_code == 304 and not same.content
    beyond = requests.get(
        base + "good.bin", headers={**headers, "Range": f"bytes={len(body)}-"}, timeout=TIMEOUT
    )
    assert_problem(beyond, 416)
    assert beyond.headers["Content-Range"] == f"bytes */{len(body)}"

    refusals = [
        ({"Content-Digest": content_digest(b"another body")}, SMALL, 400, "digest-mismatch"),
        ({"Content-MD5": base64.b64encode(b"0" * 16).decode()}, SMALL, 400, "digest-mismatch"),
        ({"Content-Digest": "sha-256=:this is not base64:"}, SMALL, 400, "invalid-header"),
        ({"Content-MD5": "short"}, SMALL, 400, "invalid-header"),
        ({}, pieces(limit + 10_000), 413, None),  # chunked: too large only mid-stream
    ]
    for extra, data, status, slug in refusals:
        for name in ("good.bin", "new.bin"):  # a replacement and a new file
            refused = requests.put(
                base + name, data=data, headers={**headers, **extra}, timeout=TIMEOUT
            )
            assert_problem(refused, status, slug)
            if not isinstance(data, bytes):
                break  # a generator is spent
    declared_oversize(app, prefix + "new.bin", headers, limit)

    assert_problem(requests.get(base + "new.bin", headers=headers, timeout=TIMEOUT), 404)
    kept = requests.get(base + "good.bin", headers=headers, timeout=TIMEOUT)
    assert hashlib.sha256(kept.content).hexdigest() == sha256  # nothing partial replaced it


def assert_clean_log(app: ExampleApp) -> None:
    log = app.log()
    assert "Traceback" not in log and "Exception" not in log, log[-3000:]
    assert '" 500 ' not in log, log[-3000:]


@pytest.mark.parametrize("runner", RUNNERS)
def test_upload_to_local_files(runner: str, tmp_path: Path) -> None:
    folder = tmp_path / "files"
    env = {"UPLOAD_DIR": str(folder), "MAX_UPLOAD_BYTES": str(LIMIT)}
    with ExampleApp(runner, "upload_local", tmp_path / "app.log", env) as app:
        exercise(app, "/files/")
        bad_name = requests.put(app.url + "/files/.hidden", data=b"x", timeout=TIMEOUT)
        assert_problem(bad_name, 400, "bad-request")
    assert_clean_log(app)
    assert sorted(p.name for p in folder.iterdir()) == ["good.bin"]  # no temporary left


@pytest.mark.parametrize("runner", RUNNERS)
def test_upload_to_postgres_large_objects(runner: str, tmp_path: Path, postgres_url: str) -> None:
    env = {"DATABASE_URL": postgres_url, "MAX_UPLOAD_BYTES": str(LIMIT)}
    with ExampleApp(runner, "upload_postgres", tmp_path / "app.log", env) as app:
        exercise(app, "/files/")
    assert_clean_log(app)
    import psycopg

    with psycopg.connect(postgres_url) as conn:
        objects = conn.execute("SELECT count(*) FROM pg_largeobject_metadata").fetchone()
        files = conn.execute("SELECT name FROM files").fetchall()
    assert objects == (1,) and files == [("good.bin",)]  # refused bodies left no object


@pytest.mark.parametrize("runner", RUNNERS)
def test_upload_to_s3_multipart(runner: str, tmp_path: Path, moto: MotoServer) -> None:
    bucket = moto.new_bucket()
    env = {
        **S3_ENV,
        "S3_BUCKET": bucket,
        "S3_ENDPOINT_URL": moto.endpoint,
        "MAX_UPLOAD_BYTES": str(S3_LIMIT),
    }
    with ExampleApp(runner, "upload_s3", tmp_path / "app.log", env) as app:
        exercise(app, "/files/", body=S3_BODY, limit=S3_LIMIT)
    assert_clean_log(app)
    client = moto.client()
    assert [o["Key"] for o in client.list_objects_v2(Bucket=bucket)["Contents"]] == ["good.bin"]
    assert client.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []  # aborted


@pytest.mark.parametrize("runner", RUNNERS)
def test_the_whole_api_mounted_in_an_app_with_its_own_auth(runner: str, tmp_path: Path) -> None:
    env = {
        "BLOBSTREAM_STORAGE": (tmp_path / "blobs").as_uri(),
        "API_KEYS": "alice:alice-key,bob:bob-key",
        "MAX_UPLOAD_BYTES": str(LIMIT),
    }
    key = {"X-Api-Key": "alice-key"}
    with ExampleApp(runner, "mount_api", tmp_path / "app.log", env) as app:
        exercise(app, "/api/blobs/", key)
        assert requests.get(app.url + "/whoami", headers=key, timeout=TIMEOUT).json() == {
            "user": "alice"
        }
        anonymous = requests.get(app.url + "/api/blobs/good.bin", timeout=TIMEOUT)
        assert anonymous.status_code == 401 and anonymous.json()["error"]  # the app's own answer
        own_404 = requests.get(app.url + "/nowhere", headers=key, timeout=TIMEOUT)
        assert own_404.status_code == 404
        assert own_404.headers["Content-Type"].startswith("text/html")
        ours = requests.get(app.url + "/api/nowhere", headers=key, timeout=TIMEOUT)
        assert_problem(ours, 404)
    assert_clean_log(app)
