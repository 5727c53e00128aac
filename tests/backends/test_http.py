"""The blob API on PostgreSQL and on S3: the same answers as on the local store."""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from collections.abc import Iterator

import requests

from tests.backends.conftest import LIMIT, Backend
from tests.tus.conftest import MIB

TIMEOUT = 60


def unique(prefix: str) -> str:
    return f"{prefix}/{uuid.uuid4().hex}"


def body(size: int, seed: int = 0) -> bytes:
    block = hashlib.sha256(str(seed).encode()).digest() * (MIB // 32)
    return (block * (size // MIB + 1))[:size]


def chunks(data: bytes, size: int = 256 * 1024) -> Iterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


def url(backend: Backend, key: str) -> str:
    return f"{backend.server.url}/blobs/{key}"


def test_put_with_length_and_chunked_then_get_and_head(backend: Backend) -> None:
    key = unique("put")
    first = body(7 * MIB + 3, seed=1)  # past the S3 part size: a multipart upload
    r = requests.put(url(backend, key), data=first, timeout=TIMEOUT)
    assert r.status_code == 201, r.text
    assert r.json()["sha256"] == hashlib.sha256(first).hexdigest()
    second = body(MIB + 1, seed=2)
    r = requests.put(
        url(backend, key),
        data=chunks(second),
        headers={"Content-Type": "text/csv"},
        timeout=TIMEOUT,
    )
    assert r.status_code == 200, r.text
    etag = r.json()["etag"]
    got = requests.get(url(backend, key), timeout=TIMEOUT)
    assert got.content == second
    assert got.headers["ETag"] == etag and got.headers["Content-Type"] == "text/csv"
    digest = base64.b64encode(hashlib.sha256(second).digest()).decode()
    assert got.headers["Repr-Digest"] == f"sha-256=:{digest}:"
    head = requests.head(url(backend, key), timeout=TIMEOUT)
    assert head.status_code == 200 and head.content == b""
    for name in ("ETag", "Content-Length", "Repr-Digest", "Last-Modified", "Accept-Ranges"):
        assert head.headers[name] == got.headers[name]


def test_single_multiple_and_unsatisfiable_ranges(backend: Backend) -> None:
    key = unique("range")
    data = body(6 * MIB + 10, seed=3)
    assert requests.put(url(backend, key), data=data, timeout=TIMEOUT).status_code == 201
    one = requests.get(url(backend, key), headers={"Range": "bytes=5242870-5242889"}, timeout=60)
    assert one.status_code == 206 and one.content == data[5242870:5242890]
    assert one.headers["Content-Range"] == f"bytes 5242870-5242889/{len(data)}"
    tail = requests.get(url(backend, key), headers={"Range": "bytes=-7"}, timeout=TIMEOUT)
    assert tail.status_code == 206 and tail.content == data[-7:]
    many = requests.get(url(backend, key), headers={"Range": "bytes=0-3,100-199,-5"}, timeout=60)
    assert many.status_code == 206
    ctype = many.headers["Content-Type"]
    assert ctype.startswith("multipart/byteranges; boundary=")
    boundary = ctype.split("boundary=", 1)[1].strip('"').encode()
    parts = [p for p in many.content.split(b"--" + boundary) if p.strip(b"\r\n-")]
    bodies = [p.split(b"\r\n\r\n", 1)[1].removesuffix(b"\r\n") for p in parts]
    assert bodies == [data[0:4], data[100:200], data[-5:]]
    bad = requests.get(url(backend, key), headers={"Range": f"bytes={len(data)}-"}, timeout=60)
    assert bad.status_code == 416
    assert bad.headers["Content-Range"] == f"bytes */{len(data)}"


def test_conditional_requests_and_delete(backend: Backend) -> None:
    key = unique("cond")
    created = requests.put(
        url(backend, key), data=b"one", headers={"If-None-Match": "*"}, timeout=60
    )
    assert created.status_code == 201
    etag = created.json()["etag"]
    again = requests.put(url(backend, key), data=b"two", headers={"If-None-Match": "*"}, timeout=60)
    assert again.status_code == 412
    assert again.headers["Content-Type"] == "application/problem+json"
    stale = requests.put(url(backend, key), data=b"two", headers={"If-Match": '"nope"'}, timeout=60)
    assert stale.status_code == 412
    cached = requests.get(url(backend, key), headers={"If-None-Match": etag}, timeout=TIMEOUT)
    assert cached.status_code == 304
    replaced = requests.put(url(backend, key), data=b"two", headers={"If-Match": etag}, timeout=60)
    assert replaced.status_code == 200
    new_etag = replaced.json()["etag"]
    moved = requests.get(url(backend, key), headers={"If-Match": etag}, timeout=TIMEOUT)
    assert moved.status_code == 412
    refused = requests.delete(url(backend, key), headers={"If-Match": etag}, timeout=TIMEOUT)
    assert refused.status_code == 412
    deleted = requests.delete(url(backend, key), headers={"If-Match": new_etag}, timeout=TIMEOUT)
    assert deleted.status_code == 204
    assert requests.get(url(backend, key), timeout=TIMEOUT).status_code == 404
    assert requests.delete(url(backend, key), timeout=TIMEOUT).status_code == 404


def test_listing_follows_its_cursor(backend: Backend) -> None:
    prefix = unique("list")
    keys = [f"{prefix}/{i:03d}" for i in range(25)]
    for key in keys:
        assert requests.put(url(backend, key), data=key.encode(), timeout=TIMEOUT).ok
    seen: list[str] = []
    after = ""
    pages = 0
    while True:
        r = requests.get(
            f"{backend.server.url}/blobs",
            params={"prefix": prefix + "/", "after": after, "limit": 10},
            timeout=TIMEOUT,
        )
        assert r.status_code == 200
        doc = r.json()
        pages += 1
        seen += [item["key"] for item in doc["blobs"]]
        assert all(item["size"] == len(item["key"]) for item in doc["blobs"])
        if doc["next"] is None:
            break
        after = doc["next"]
    assert seen == keys and pages == 3


def test_digest_mismatch_leaves_the_old_version(backend: Backend) -> None:
    key = unique("digest")
    old = body(MIB, seed=4)
    assert requests.put(url(backend, key), data=old, timeout=TIMEOUT).status_code == 201
    new = body(9 * MIB, seed=5)
    wrong = base64.b64encode(hashlib.sha256(b"something else").digest()).decode()
    r = requests.put(
        url(backend, key), data=new, headers={"Content-Digest": f"sha-256=:{wrong}:"}, timeout=60
    )
    assert r.status_code == 400, r.text
    assert r.headers["Content-Type"] == "application/problem+json"
    assert requests.get(url(backend, key), timeout=TIMEOUT).content == old
    assert backend.leftovers() == []


def test_a_body_over_the_limit_is_413_mid_stream_and_leaves_nothing(backend: Backend) -> None:
    key = unique("limit")
    r = requests.put(url(backend, key), data=chunks(body(LIMIT + 6 * MIB), MIB), timeout=120)
    assert r.status_code == 413
    assert json.loads(r.content)["status"] == 413
    assert requests.get(url(backend, key), timeout=TIMEOUT).status_code == 404
    assert backend.leftovers() == []


def test_post_multipart_form_streams_each_file(backend: Backend) -> None:
    prefix = unique("form")
    one, two = body(6 * MIB + 1, seed=6), b"second file\r\n--not a boundary\r\n" * 100
    r = requests.post(
        f"{backend.server.url}/blobs/{prefix}/",
        files=[("a", ("one.bin", one)), ("b", ("two.txt", two, "text/plain"))],
        data={"comment": "a text field"},
        timeout=TIMEOUT,
    )
    assert r.status_code == 201, r.text
    stored = r.json()["blobs"]
    assert [b["key"] for b in stored] == [f"{prefix}/one.bin", f"{prefix}/two.txt"]
    assert [b["sha256"] for b in stored] == [hashlib.sha256(x).hexdigest() for x in (one, two)]
    assert requests.get(url(backend, f"{prefix}/one.bin"), timeout=TIMEOUT).content == one
    got = requests.get(url(backend, f"{prefix}/two.txt"), timeout=TIMEOUT)
    assert got.content == two and got.headers["Content-Type"] == "text/plain"
