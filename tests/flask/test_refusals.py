"""``blobstream.flask`` in a developer's own app that never mounts the extension.

Every refusal of ``receive_request`` and ``send_stream`` must be its 4xx
problem+json (SPEC "For Flask developers"), also with ``TESTING`` or debug on,
where Flask lets any *unhandled* exception escape.
"""

from __future__ import annotations

import base64
import hashlib
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask, request
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from blobstream import errors
from blobstream.flask import (
    PROBLEM_JSON,
    BlobstreamError,
    DigestMismatch,
    TooLarge,
    receive_request,
    send_stream,
)

LIMIT = 1000
BODY = b"x" * 600
SHA256 = hashlib.sha256(BODY).digest()


def make_app(folder: Path, *, debug: bool) -> Flask:
    app = Flask("devapp")
    app.testing = True  # PROPAGATE_EXCEPTIONS: an unhandled error would escape the client
    app.debug = debug

    @app.put("/files/<name>")
    def upload(name: str) -> dict[str, object]:
        part = folder / f".{name}.part"
        try:
            with part.open("wb") as sink:
                result = receive_request(sink, limit=LIMIT)
            part.rename(folder / name)
        finally:
            part.unlink(missing_ok=True)
        return {"size": result.size, "sha256": result.sha256}

    @app.get("/files/<name>")
    def download(name: str) -> object:
        path = folder / name
        return send_stream(path.open("rb"), etag="v1", last_modified=path.stat().st_mtime)

    @app.put("/caught")
    def caught() -> tuple[str, int]:
        try:
            receive_request(io.BytesIO(), limit=10)
        except TooLarge as exc:  # the types keep their identity for the app's own code
            return f"caught {type(exc).__name__}", 299
        return "no", 200

    return app


@pytest.fixture(params=[False, True], ids=["plain", "debug"])
def client(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[FlaskClient]:
    app = make_app(tmp_path, debug=request.param)
    yield app.test_client()
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".part")] == []


def assert_problem(response: TestResponse, status: int, slug: str) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.content_type == PROBLEM_JSON
    body: dict[str, object] = response.json
    assert body["status"] == status
    assert body["type"] == f"https://blobstream.dev/problems/{slug}"
    assert body["title"] and body["detail"]
    return body


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_good_upload_returns_the_sha256(client: FlaskClient, tmp_path: Path) -> None:
    response = client.put(
        "/files/a", data=BODY, headers={"Content-Digest": f"sha-256=:{b64(SHA256)}:"}
    )
    assert response.status_code == 200
    assert response.json == {"size": 600, "sha256": SHA256.hex()}
    assert (tmp_path / "a").read_bytes() == BODY


@pytest.mark.parametrize(
    ("headers", "status", "slug"),
    [
        ({"Content-Digest": f"sha-256=:{b64(bytes(32))}:"}, 400, "digest-mismatch"),
        ({"Content-MD5": b64(hashlib.md5(b"other").digest())}, 400, "digest-mismatch"),
        ({"Content-Digest": "sha-256=:not base64!:"}, 400, "invalid-header"),
        ({"Content-Digest": "sha-256"}, 400, "invalid-header"),
        ({"Content-MD5": "AAAA"}, 400, "invalid-header"),
        ({"Content-Length": "1001"}, 413, "too-large"),
        ({"Transfer-Encoding": "gzip"}, 400, "invalid-header"),
    ],
)
def test_refusals_are_problem_documents(
    client: FlaskClient, tmp_path: Path, headers: dict[str, str], status: int, slug: str
) -> None:
    body = BODY + b"y" * 401 if headers.get("Content-Length") == "1001" else BODY
    response = client.put("/files/a", data=body, headers=headers)
    assert_problem(response, status, slug)
    assert not (tmp_path / "a").exists()
    assert response.headers["Connection"] == "close"  # the rest of the body may be unread


def test_a_short_body_is_incomplete(client: FlaskClient) -> None:
    response = client.put(
        "/files/a", input_stream=io.BytesIO(b"12345"), environ_overrides={"CONTENT_LENGTH": "500"}
    )
    assert_problem(response, 400, "incomplete-body")


def test_the_app_can_still_catch_the_error_itself(client: FlaskClient) -> None:
    response = client.put("/caught", data=b"12345678901")
    assert (response.status_code, response.text) == (299, "caught TooLarge")


def test_send_stream_answers_range_conditionals_and_416(client: FlaskClient) -> None:
    assert client.put("/files/b", data=BODY).status_code == 200
    whole = client.get("/files/b")
    assert (whole.status_code, whole.data, whole.headers["ETag"]) == (200, BODY, '"v1"')
    part = client.get("/files/b", headers={"Range": "bytes=10-19"})
    assert (part.status_code, part.data) == (206, BODY[10:20])
    assert part.headers["Content-Range"] == "bytes 10-19/600"
    assert client.get("/files/b", headers={"If-None-Match": '"v1"'}).status_code == 304
    unsatisfiable = client.get("/files/b", headers={"Range": "bytes=600-"})
    assert_problem(unsatisfiable, 416, "range-not-satisfiable")
    assert unsatisfiable.headers["Content-Range"] == "bytes */600"
    assert "Connection" not in unsatisfiable.headers  # a GET leaves no body unread
    assert_problem(client.get("/files/b", headers={"If-Match": '"v0"'}), 412, "precondition-failed")


def test_errors_are_werkzeug_http_exceptions_with_their_own_identity() -> None:
    from werkzeug.exceptions import HTTPException

    err = DigestMismatch("the body's sha256 does not match")
    assert isinstance(err, HTTPException) and isinstance(err, errors.BadRequest)
    assert isinstance(err, BlobstreamError) and err.code == err.status == 400
    assert str(err) == "the body's sha256 does not match" and err.args == (str(err),)
    assert errors.Vetoed("no", 409).code == 409
    assert errors.RangeNotSatisfiable(7).get_response().headers["Content-Range"] == "bytes */7"


def test_the_request_argument_replaces_flask_request(tmp_path: Path) -> None:
    app = Flask("explicit")

    @app.put("/x")
    def put() -> dict[str, int]:
        return {"size": receive_request(io.BytesIO(), limit=None, req=request).size}

    assert app.test_client().put("/x", data=b"abc").json == {"size": 3}
