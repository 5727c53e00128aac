"""Server-side copy and move (``Blobstream-Copy-Source``) on every backend, over HTTP."""

from __future__ import annotations

import hashlib
import os
import uuid
from typing import Any

import requests

from tests.copy.conftest import TIMEOUT
from tests.support import Server

PAST = "Mon, 01 Jan 2001 00:00:00 GMT"
FUTURE = "Fri, 01 Jan 2100 00:00:00 GMT"


def put(server: Server, key: str, body: bytes, **headers: str) -> requests.Response:
    return requests.put(f"{server.url}/blobs/{key}", data=body, headers=headers, timeout=TIMEOUT)


def copy(server: Server, src: str, dst: str, **headers: str) -> requests.Response:
    headers = {"Blobstream-Copy-Source": f"/blobs/{src}", **headers}
    return requests.put(f"{server.url}/blobs/{dst}", headers=headers, timeout=TIMEOUT)


def get(server: Server, key: str) -> requests.Response:
    return requests.get(f"{server.url}/blobs/{key}", timeout=TIMEOUT)


def new_blob(server: Server, size: int = 3000, **headers: str) -> tuple[str, bytes, dict[str, Any]]:
    key = f"copy/{uuid.uuid4().hex}"
    body = os.urandom(size)
    r = put(server, key, body, **headers)
    assert r.status_code == 201, r.text
    return key, body, r.json()


def h(name: str) -> str:
    return f"Blobstream-Copy-Source-{name}"


def test_copy_makes_a_new_blob_with_the_same_bytes_and_keeps_the_source(
    backend_server: Server,
) -> None:
    src, body, made = new_blob(backend_server, 7 << 20, **{"Content-Type": "image/png"})
    dst = f"copy/{uuid.uuid4().hex}"
    r = copy(backend_server, src, dst)
    assert r.status_code == 201, r.text
    info = r.json()
    assert info["key"] == dst
    assert info["size"] == len(body)
    assert info["sha256"] == hashlib.sha256(body).hexdigest()
    assert info["content_type"] == "image/png"
    assert r.headers["ETag"] == info["etag"] != made["etag"]
    assert r.headers["Location"].endswith(f"/blobs/{dst}")
    got = get(backend_server, dst)
    assert got.content == body
    assert got.headers["Content-Type"] == "image/png"
    assert get(backend_server, src).content == body


def test_copy_onto_an_existing_blob_replaces_it_with_200(backend_server: Server) -> None:
    src, body, _ = new_blob(backend_server)
    dst, _, old = new_blob(backend_server, 10)
    r = copy(backend_server, src, dst, **{"If-Match": old["etag"]})
    assert r.status_code == 200, r.text
    assert get(backend_server, dst).content == body


def test_move_removes_the_source_once_the_destination_exists(backend_server: Server) -> None:
    src, body, _ = new_blob(backend_server, 6 << 20)
    dst = f"copy/{uuid.uuid4().hex}/moved"
    r = copy(backend_server, src, dst, **{"Blobstream-Copy-Mode": "move"})
    assert r.status_code == 201, r.text
    assert r.json()["sha256"] == hashlib.sha256(body).hexdigest()
    assert get(backend_server, dst).content == body
    assert get(backend_server, src).status_code == 404


def test_a_missing_source_is_404_and_creates_nothing(backend_server: Server) -> None:
    dst = f"copy/{uuid.uuid4().hex}"
    r = copy(backend_server, f"copy/{uuid.uuid4().hex}", dst)
    assert r.status_code == 404
    assert r.headers["Content-Type"] == "application/problem+json"
    assert get(backend_server, dst).status_code == 404


def test_bad_copy_requests_are_400(backend_server: Server) -> None:
    src, _, _ = new_blob(backend_server, 10)
    url = f"{backend_server.url}/blobs/copy/{uuid.uuid4().hex}"
    cases: list[dict[str, str]] = [
        {"Blobstream-Copy-Source": f"/blobs/{src}", "Blobstream-Copy-Mode": "rename"},
        {"Blobstream-Copy-Source": f"/elsewhere/{src}"},
        {"Blobstream-Copy-Source": "/blobs/"},
        {"Blobstream-Copy-Source": "/blobs/a//b"},
        {"Blobstream-Copy-Source": "/blobs/%FF%FE"},
    ]
    for headers in cases:
        r = requests.put(url, headers=headers, timeout=TIMEOUT)
        assert r.status_code == 400, (headers, r.text)
        assert r.headers["Content-Type"] == "application/problem+json"
    r = requests.put(
        url, headers={"Blobstream-Copy-Source": f"/blobs/{src}"}, data=b"body", timeout=TIMEOUT
    )
    assert r.status_code == 400


def test_copying_a_blob_onto_itself_is_400(backend_server: Server) -> None:
    src, body, _ = new_blob(backend_server, 10)
    for mode in ("copy", "move"):
        r = copy(backend_server, src, src, **{"Blobstream-Copy-Mode": mode})
        assert r.status_code == 400
    assert get(backend_server, src).content == body


def test_a_percent_encoded_source_key_is_decoded(backend_server: Server) -> None:
    src = f"copy/{uuid.uuid4().hex}/naïve file"
    assert put(backend_server, src, b"x").status_code == 201
    dst = f"copy/{uuid.uuid4().hex}"
    r = copy(backend_server, requests.utils.quote(src), dst)
    assert r.status_code == 201, r.text
    assert get(backend_server, dst).content == b"x"


def test_source_conditions_that_fail_are_412(backend_server: Server) -> None:
    src, _, made = new_blob(backend_server, 10)
    dst = f"copy/{uuid.uuid4().hex}"
    failing = [
        {h("If-Match"): '"other"'},
        {h("If-None-Match"): made["etag"]},
        {h("If-None-Match"): "*"},
        {h("If-Modified-Since"): FUTURE},
        {h("If-Unmodified-Since"): PAST},
    ]
    for headers in failing:
        r = copy(backend_server, src, dst, **headers)
        assert r.status_code == 412, (headers, r.text)
    assert get(backend_server, dst).status_code == 404
    holding = {
        h("If-Match"): made["etag"],
        h("If-None-Match"): '"other"',
        h("If-Unmodified-Since"): FUTURE,
    }
    assert copy(backend_server, src, dst, **holding).status_code == 201
    assert copy(backend_server, src, dst, **{h("If-Modified-Since"): PAST}).status_code == 200


def test_destination_conditions_apply_as_for_put(backend_server: Server) -> None:
    src, body, _ = new_blob(backend_server, 10)
    dst, old_body, old = new_blob(backend_server, 20)
    assert copy(backend_server, src, dst, **{"If-None-Match": "*"}).status_code == 412
    assert copy(backend_server, src, dst, **{"If-Match": '"other"'}).status_code == 412
    moved = copy(
        backend_server, src, dst, **{"If-Match": '"other"', "Blobstream-Copy-Mode": "move"}
    )
    assert moved.status_code == 412
    assert get(backend_server, dst).content == old_body
    assert get(backend_server, src).content == body
    fresh = f"copy/{uuid.uuid4().hex}"
    assert copy(backend_server, src, fresh, **{"If-None-Match": "*"}).status_code == 201
    assert copy(backend_server, src, dst, **{"If-Match": old["etag"]}).status_code == 200
