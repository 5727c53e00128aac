"""Two ``blobstream serve`` nodes on one PostgreSQL database or one bucket behave as one service:
blobs, concurrent writers, and a tus upload started on one node and finished on the other."""

from __future__ import annotations

import base64
import hashlib
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from tests.services import MotoServer, PostgresCluster
from tests.support import BIN, Server, free_port
from tests.tus.tusraw import create, head, new_upload, patch


def wait_health(server: Server, status: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(server.url + "/healthz", timeout=5).status_code == status:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise AssertionError(f"/healthz never answered {status}")


@pytest.fixture(params=["postgresql", "s3"])
def two_nodes(
    request: pytest.FixtureRequest, tmp_path: Path, postgres: PostgresCluster, moto: MotoServer
) -> Iterator[tuple[Server, Server]]:
    if request.param == "postgresql":
        url = postgres.new_database()
    else:
        url = moto.url(moto.new_bucket(), "data", part_size="5MiB")
    a = Server(url, tmp_path / "a.log", args=("--workers", "1", "--threads", "8"))
    b = Server(url, tmp_path / "b.log", args=("--workers", "1", "--threads", "8"))
    with a, b:
        yield a, b


def test_a_blob_written_through_one_node_is_read_through_the_other(
    two_nodes: tuple[Server, Server],
) -> None:
    a, b = two_nodes
    body = bytes(range(256)) * 40_000
    assert requests.put(a.url + "/blobs/shared/x", data=body, timeout=60).status_code == 201
    got = requests.get(b.url + "/blobs/shared/x", timeout=60)
    assert got.status_code == 200 and got.content == body
    ranged = requests.get(b.url + "/blobs/shared/x", headers={"Range": "bytes=5-9"}, timeout=60)
    assert ranged.status_code == 206 and ranged.content == body[5:10]
    listed = requests.get(b.url + "/blobs?prefix=shared/", timeout=60).json()
    assert [item["key"] for item in listed["blobs"]] == ["shared/x"]


def test_concurrent_writers_through_both_nodes_leave_one_complete_version(
    two_nodes: tuple[Server, Server],
) -> None:
    bodies = [bytes([i]) * (3 << 20) for i in range(6)]
    nodes = [two_nodes[i % 2] for i in range(len(bodies))]

    def put(i: int) -> int:
        return requests.put(nodes[i].url + "/blobs/c", data=bodies[i], timeout=120).status_code

    with ThreadPoolExecutor(len(bodies)) as pool:
        assert set(pool.map(put, range(len(bodies)))) <= {200, 201}
    for node in two_nodes:
        got = requests.get(node.url + "/blobs/c", timeout=60)
        assert got.content in bodies
        assert got.headers["Repr-Digest"].startswith("sha-256=")
    assert (
        hashlib.sha256(got.content).hexdigest()
        in requests.put(two_nodes[0].url + "/blobs/d", data=got.content, timeout=60).text
    )


def test_healthz_follows_postgresql_going_down_and_coming_back(tmp_path: Path) -> None:
    cluster = PostgresCluster().start()
    try:
        with Server(cluster.url(), tmp_path / "s.log", args=("--workers", "1")) as server:
            cluster.stop()
            wait_health(server, 503)
            cluster.start()
            wait_health(server, 200)
            assert requests.put(server.url + "/blobs/back", data=b"ok", timeout=30).ok
    finally:
        cluster.destroy()


def test_healthz_follows_s3_going_down_and_coming_back(tmp_path: Path, moto: MotoServer) -> None:
    own = MotoServer().start()
    again = MotoServer(own.port)
    try:
        bucket = own.new_bucket()
        with Server(own.url(bucket), tmp_path / "s.log", args=("--workers", "1")) as server:
            own.stop()
            wait_health(server, 503)
            again.start()  # a new, empty server on the same port: the bucket comes back
            again.client().create_bucket(Bucket=bucket)
            wait_health(server, 200)
    finally:
        own.destroy()
        again.destroy()


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://nobody@127.0.0.1:{port}/none",
        "s3://bucket/p?endpoint=http://127.0.0.1:{port}&region=us-east-1",
        "s3:///no-bucket",
        "ftp://example/x",
    ],
)
def test_a_bad_or_unreachable_store_stops_the_start_with_one_line(url: str, s3_env: None) -> None:
    done = subprocess.run(
        [
            str(BIN / "blobstream"),
            "serve",
            "--storage",
            url.format(port=free_port()),
            "--port",
            str(free_port()),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    errors = [line for line in done.stderr.splitlines() if line.startswith("blobstream serve: ")]
    assert len(errors) == 1 and "Traceback" not in done.stderr, done.stderr


def test_a_tus_upload_started_on_one_node_finishes_on_the_other(
    two_nodes: tuple[Server, Server],
) -> None:
    a, b = two_nodes
    data = bytes(range(251)) * (50 << 12)  # ~12.3 MiB: two S3 parts and a tail
    key = "tus/two-nodes.bin"
    location = new_upload(a.url, len(data), key=key)
    url_a, url_b = a.url + urlsplit(location).path, b.url + urlsplit(location).path
    offset = 0
    for size in (3 << 20, 4 << 20):  # on S3: a tail object, then a full part
        r = patch(url_a, offset, data[offset : offset + size])
        assert r.status_code == 204, r.text
        offset += size
    assert int(head(url_b).headers["Upload-Offset"]) == offset
    stale = patch(url_b, 0, data[:10])
    assert stale.status_code == 409
    r = patch(url_b, offset, data[offset:])
    assert r.status_code == 204, r.text
    assert int(head(url_a).headers["Upload-Offset"]) == len(data)
    expected = base64.b64encode(hashlib.sha256(data).digest()).decode()
    for node in (a, b):
        got = requests.get(f"{node.url}/blobs/{key}", timeout=60)
        assert got.status_code == 200 and got.content == data
        assert got.headers["Repr-Digest"] == f"sha-256=:{expected}:"
        stat = requests.head(f"{node.url}/blobs/{key}", timeout=60)
        assert stat.headers["ETag"] == got.headers["ETag"]


def test_partial_uploads_on_both_nodes_are_concatenated_on_one(
    two_nodes: tuple[Server, Server],
) -> None:
    a, b = two_nodes
    pieces = [bytes([7]) * ((5 << 20) + 11), bytes(range(256)) * 4096]
    urls = []
    for node, piece in zip((a, b), pieces, strict=True):
        location = new_upload(node.url, len(piece), **{"Upload-Concat": "partial"})
        assert patch(node.url + urlsplit(location).path, 0, piece).status_code == 204
        urls.append(urlsplit(location).path)
    final = create(
        a.url,
        None,
        **{"Upload-Concat": "final;" + " ".join(urls), "Upload-Metadata": "key am9pbmVk"},
    )
    assert final.status_code == 201, final.text
    whole = b"".join(pieces)
    for node in (a, b):
        got = requests.get(f"{node.url}/blobs/joined", timeout=60)
        assert got.status_code == 200 and got.content == whole
        expected = base64.b64encode(hashlib.sha256(whole).digest()).decode()
        assert got.headers["Repr-Digest"] == f"sha-256=:{expected}:"
