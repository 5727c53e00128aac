"""Quotas per key prefix and per token: refused at once, mid-stream and at commit,
on every backend (the local index, PostgreSQL tables, S3 counter objects)."""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urljoin

import pytest
import requests

from blobstream.quotas import Rule, parse_quotas, token_id
from tests.support import Server

QUOTAS = "prefix:q/=1000/5,prefix:c/=-/2,token:alice-token=1000"


@pytest.mark.parametrize(
    ("text", "rules"),
    [
        ("prefix:photos/=10G/1000", [Rule("prefix:photos/", 10 << 30, 1000)]),
        ("prefix:a=5", [Rule("prefix:a", 5, None)]),
        ("prefix:a=-/3", [Rule("prefix:a", None, 3)]),
        ("prefix:a==b=1K", [Rule("prefix:a==b", 1024, None)]),
        (" prefix:a=1 , prefix:a=2 ", [Rule("prefix:a", 2, None)]),
        ("token:t=1M", [Rule(f"token:{token_id('t')}", 1 << 20, None)]),
        ("token:sha256:" + "AB" * 32 + "=1", [Rule("token:" + "ab" * 6, 1, None)]),
        ("", []),
    ],
)
def test_quota_rules_parse(text: str, rules: list[Rule]) -> None:
    assert parse_quotas(text) == rules


@pytest.mark.parametrize(
    "text", ["photos/=1G", "prefix:=1", "user:x=1", "prefix:a", "prefix:a=lots", "prefix:a=1/x"]
)
def test_bad_quota_rules_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_quotas(text)


BACKENDS = ["file", "postgresql", "s3"]


@pytest.fixture(params=BACKENDS)
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh store of each backend: a directory, a database, a bucket."""
    if request.param == "postgresql":
        url: str = request.getfixturevalue("postgres_url")
        return url
    if request.param == "s3":
        url = request.getfixturevalue("s3_url")
        return url
    return (tmp_path / "data").as_uri()


@pytest.fixture
def srv(storage: str, tmp_path: Path) -> Iterator[Server]:
    server = Server(
        storage,
        tmp_path / "server.log",
        args=("--quotas", QUOTAS),
        env={"BLOBSTREAM_TOKENS": "alice-token=write,admin-token=admin"},
    )
    with server:
        yield server


ADMIN = {"Authorization": "Bearer admin-token"}
ALICE = {"Authorization": "Bearer alice-token"}


def put(srv: Server, key: str, body: object, headers: dict[str, str] = ADMIN) -> requests.Response:
    return requests.put(f"{srv.url}/blobs/{key}", data=body, headers=headers, timeout=10)


def chunks(size: int) -> Iterator[bytes]:
    for _ in range(size // 100):
        yield b"x" * 100


def problem(r: requests.Response, status: int) -> str:
    assert r.status_code == status, r.text
    assert r.headers["Content-Type"] == "application/problem+json"
    detail: str = r.json()["detail"]
    return detail


def test_prefix_byte_quota(srv: Server) -> None:
    assert put(srv, "q/a", b"a" * 600).status_code == 201
    assert "left of the quota" in problem(put(srv, "q/b", b"b" * 600), 507)  # declared length
    assert "exceeds the quota" in problem(put(srv, "q/big", b"x" * 1001), 413)
    assert "quota" in problem(put(srv, "q/c", chunks(600)), 507)  # chunked: refused mid-stream
    assert requests.get(f"{srv.url}/blobs/q/c", headers=ADMIN, timeout=10).status_code == 404
    assert put(srv, "q/a", b"a" * 1000).status_code == 200  # a replacement frees the old size
    assert put(srv, "q/a", b"a" * 400).status_code == 200
    assert put(srv, "other", b"o" * 5000).status_code == 201  # outside every prefix
    assert put(srv, "q/b", chunks(600)).status_code == 201
    r = requests.delete(f"{srv.url}/blobs/q/a", headers=ADMIN, timeout=10)
    assert r.status_code == 204
    assert put(srv, "q/c", b"c" * 400).status_code == 201  # the delete released its bytes


def test_prefix_count_quota_and_tus(srv: Server) -> None:
    assert put(srv, "c/1", b"1").status_code == 201
    assert put(srv, "c/2", b"2").status_code == 201
    assert put(srv, "c/2", b"2 again").status_code == 200  # replacing adds no blob
    assert "2 blobs" in problem(put(srv, "c/3", b"3"), 507)
    meta = "key " + base64.b64encode(b"c/3").decode()
    r = requests.post(
        f"{srv.url}/uploads",
        headers={**ADMIN, "Tus-Resumable": "1.0.0", "Upload-Length": "1", "Upload-Metadata": meta},
        timeout=10,
    )
    problem(r, 507)
    assert requests.delete(f"{srv.url}/blobs/c/1", headers=ADMIN, timeout=10).status_code == 204
    assert put(srv, "c/3", b"3").status_code == 201


def test_token_quota_counts_what_the_token_stored(srv: Server) -> None:
    assert put(srv, "t/a", b"a" * 600, ALICE).status_code == 201
    assert put(srv, "t/x", b"x" * 600, ADMIN).status_code == 201  # another token: not counted
    problem(put(srv, "t/b", b"b" * 600, ALICE), 507)
    assert put(srv, "t/b", b"b" * 400, ALICE).status_code == 201
    assert put(srv, "t/a", b"a" * 100, ADMIN).status_code == 200  # taken over: alice's bytes go
    assert put(srv, "t/c", b"c" * 600, ALICE).status_code == 201


def test_usage_survives_a_restart(srv: Server) -> None:
    assert put(srv, "q/a", b"a" * 700).status_code == 201
    srv.stop()
    srv.start()
    problem(put(srv, "q/b", b"b" * 400), 507)


def tus_upload(srv: Server, key: str, body: bytes) -> requests.Response:
    """Create an upload and send its bytes in one PATCH; the PATCH's answer."""
    meta = "key " + base64.b64encode(key.encode()).decode()
    tus = {**ADMIN, "Tus-Resumable": "1.0.0"}
    created = requests.post(
        f"{srv.url}/uploads",
        headers={**tus, "Upload-Length": str(len(body)), "Upload-Metadata": meta},
        timeout=10,
    )
    assert created.status_code == 201, created.text
    return requests.patch(
        urljoin(srv.url + "/", created.headers["Location"]),
        data=body,
        headers={**tus, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"},
        timeout=10,
    )


def test_tus_completion_counts(srv: Server) -> None:
    assert tus_upload(srv, "q/t", b"t" * 700).status_code == 204
    assert requests.get(f"{srv.url}/blobs/q/t", headers=ADMIN, timeout=10).content == b"t" * 700
    problem(put(srv, "q/b", b"b" * 400), 507)  # the completed upload holds 700 of 1000
    assert put(srv, "q/b", b"b" * 300).status_code == 201


def test_copy_and_move_count_against_the_destination(srv: Server) -> None:
    assert put(srv, "src", b"s" * 600).status_code == 201
    copy = {**ADMIN, "Blobstream-Copy-Source": "/blobs/src"}
    assert requests.put(f"{srv.url}/blobs/q/one", headers=copy, timeout=10).status_code == 201
    problem(requests.put(f"{srv.url}/blobs/q/two", headers=copy, timeout=10), 507)
    move = {**ADMIN, "Blobstream-Copy-Source": "/blobs/src", "Blobstream-Copy-Mode": "move"}
    problem(requests.put(f"{srv.url}/blobs/q/two", headers=move, timeout=10), 507)
    assert requests.delete(f"{srv.url}/blobs/q/one", headers=ADMIN, timeout=10).status_code == 204
    assert requests.put(f"{srv.url}/blobs/q/two", headers=move, timeout=10).status_code == 201
    problem(put(srv, "q/three", b"3" * 500), 507)  # the moved blob counts under q/


@pytest.mark.parametrize("backend", ["postgresql", "s3"])
def test_two_nodes_never_overshoot(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """Twenty writers on two nodes race for a quota that takes ten of them."""
    url = request.getfixturevalue("postgres_url" if backend == "postgresql" else "s3_url")
    nodes = [
        Server(url, tmp_path / f"node{n}.log", args=("--quotas", "prefix:race/=10000"))
        for n in range(2)
    ]
    statuses: list[int] = []
    try:
        for node in nodes:
            node.start()

        def write(n: int) -> None:
            node = nodes[n % 2]
            r = requests.put(f"{node.url}/blobs/race/{n}", data=b"r" * 1000, timeout=30)
            statuses.append(r.status_code)

        threads = [threading.Thread(target=write, args=(n,)) for n in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        listed = requests.get(f"{nodes[0].url}/blobs?prefix=race/", timeout=10).json()["blobs"]
    finally:
        for node in nodes:
            node.stop()
    assert sorted(statuses) == [201] * 10 + [507] * 10
    assert sum(blob["size"] for blob in listed) == 10000
