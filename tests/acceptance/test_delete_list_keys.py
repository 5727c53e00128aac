"""DELETE, listing with cursors, and key validation as a client meets them."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.acceptance.helpers import (
    TIMEOUT,
    assert_problem,
    get,
    list_all,
    put,
    raw,
    unique,
)
from tests.support import Server


def test_delete(server: Server) -> None:
    key = unique("del")
    url = f"{server.url}/blobs/{key}"
    assert_problem(requests.delete(url, timeout=TIMEOUT), 404)
    etag = put(server, key, b"x").headers["ETag"]
    assert_problem(requests.delete(url, headers={"If-Match": '"other"'}, timeout=TIMEOUT), 412)
    assert get(server, key).content == b"x"
    r = requests.delete(url, headers={"If-Match": etag}, timeout=TIMEOUT)
    assert r.status_code == 204
    assert r.content == b""
    assert get(server, key).status_code == 404
    assert_problem(requests.delete(url, timeout=TIMEOUT), 404)


def test_listing_pages_through_thousands_of_keys(fresh_server: Server) -> None:
    keys = [f"many/{i:05d}" for i in range(2500)]
    keys += ["other/a", "man", "manz"]

    def create(chunk: list[str]) -> None:
        with requests.Session() as s:
            for key in chunk:
                r = s.put(f"{fresh_server.url}/blobs/{key}", data=key.encode(), timeout=TIMEOUT)
                assert r.status_code == 201

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(create, [keys[i::8] for i in range(8)]))

    blobs = list_all(fresh_server, "many/", limit=700)
    assert [b["key"] for b in blobs] == sorted(k for k in keys if k.startswith("many/"))
    first = blobs[0]
    assert set(first) == {"key", "size", "etag", "content_type", "last_modified"} | (
        set(first) & {"sha256"}
    )
    assert first["size"] == len("many/00000")

    r = requests.get(f"{fresh_server.url}/blobs", params={"prefix": "man"}, timeout=TIMEOUT)
    doc = r.json()
    assert len(doc["blobs"]) == 1000
    assert doc["next"] == doc["blobs"][-1]["key"]
    r = requests.get(
        f"{fresh_server.url}/blobs",
        params={"prefix": "many/", "after": "many/02497", "limit": "10"},
        timeout=TIMEOUT,
    )
    assert [b["key"] for b in r.json()["blobs"]] == ["many/02498", "many/02499"]
    assert r.json()["next"] is None
    everything = list_all(fresh_server)
    assert [b["key"] for b in everything] == sorted(keys)


@pytest.mark.parametrize("limit", ["0", "10001", "abc", "-1", "1.5", ""])
def test_bad_list_limit(server: Server, limit: str) -> None:
    r = requests.get(f"{server.url}/blobs", params={"limit": limit}, timeout=TIMEOUT)
    assert_problem(r, 400)


def test_list_limit_bounds_accepted(server: Server) -> None:
    for limit in ("1", "10000"):
        r = requests.get(f"{server.url}/blobs", params={"limit": limit}, timeout=TIMEOUT)
        assert r.status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "/blobs/a//b",
        "/blobs/a/",
        "/blobs//x",
        "/blobs/a/./b",
        "/blobs/a/../b",
        "/blobs/..",
        "/blobs/.",
        "/blobs/a%01b",
        "/blobs/a%00b",
        "/blobs/a%7Fb",
        "/blobs/" + "k" * 1025,
        "/blobs/" + "%C3%A9" * 513,
        "/blobs/%FF",
        "/blobs/a/%C3",
        "/blobs/%ED%A0%80",
    ],
)
@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "HEAD"])
def test_invalid_keys_are_400(server: Server, path: str, method: str) -> None:
    body = b"x" if method == "PUT" else b""
    request = (
        f"{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    ).encode() + body
    answer = raw(server, request, method)
    if method == "HEAD":
        assert answer.status == 400
    else:
        assert_problem(answer, 400)


def test_longest_and_unicode_keys_work(server: Server) -> None:
    for key in ("k" * 1024, "é" * 512, "dir/名前 with spaces/ünï.txt", "a/.hidden/b..c"):
        assert put(server, key, b"v").status_code in (200, 201), key
        assert get(server, key).content == b"v"


@pytest.mark.parametrize("query", ["prefix=%FF", "after=a%C3", "prefix=a%2F%2Fb", "prefix=%01"])
def test_bad_list_arguments_are_400(server: Server, query: str) -> None:
    assert_problem(requests.get(f"{server.url}/blobs?{query}", timeout=TIMEOUT), 400)
