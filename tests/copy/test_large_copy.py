"""A multi-GiB copy and move on every backend with no client traffic and flat server memory."""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Iterator

import pytest
import requests

from tests.copy.conftest import TIMEOUT, PeakRSS, storage_for, traffic
from tests.support import Server

MIB = 1 << 20
SIZE = 2048 * MIB
PIECE = os.urandom(MIB)


def body() -> Iterator[bytes]:
    for i in range(SIZE // MIB):
        yield i.to_bytes(8, "big") + PIECE[8:]


@pytest.fixture(scope="module", params=["local", "postgresql", "s3"])
def big_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    root = tmp_path_factory.mktemp(f"bigcopy-{request.param}")
    storage = storage_for(request.param, request, root.as_uri())
    with Server(storage, root / "server.log") as srv:
        yield srv


def test_a_large_copy_and_move_send_no_bytes_and_keep_memory_flat(big_server: Server) -> None:
    digest = hashlib.sha256()
    for piece in body():
        digest.update(piece)
    src = f"big/{uuid.uuid4().hex}"
    r = requests.put(f"{big_server.url}/blobs/{src}", data=body(), timeout=TIMEOUT)
    assert r.status_code == 201, r.text
    before = traffic(big_server)
    copied, moved = f"{src}-copy", f"{src}-moved"
    with PeakRSS(big_server) as rss:
        r = requests.put(
            f"{big_server.url}/blobs/{copied}",
            headers={"Blobstream-Copy-Source": f"/blobs/{src}"},
            timeout=TIMEOUT,
        )
        assert r.status_code == 201, r.text
        m = requests.put(
            f"{big_server.url}/blobs/{moved}",
            headers={"Blobstream-Copy-Source": f"/blobs/{src}", "Blobstream-Copy-Mode": "move"},
            timeout=TIMEOUT,
        )
        assert m.status_code == 201, m.text
    grown = traffic(big_server) - before
    assert grown < MIB, f"{grown} bytes crossed the server's HTTP interface during the copy"
    assert rss.growth < 48 * MIB, f"server memory grew by {rss.growth / MIB:.0f} MiB"
    for key in (copied, moved):
        info = requests.head(f"{big_server.url}/blobs/{key}", timeout=TIMEOUT)
        assert int(info.headers["Content-Length"]) == SIZE
        assert r.json()["sha256"] == m.json()["sha256"] == digest.hexdigest()
    check = hashlib.sha256()
    with requests.get(f"{big_server.url}/blobs/{copied}", stream=True, timeout=TIMEOUT) as got:
        for piece in got.iter_content(MIB):
            check.update(piece)
    assert check.hexdigest() == digest.hexdigest()
    assert requests.head(f"{big_server.url}/blobs/{src}", timeout=TIMEOUT).status_code == 404
    for key in (copied, moved):  # 4 GiB the session's store would otherwise keep
        gone = requests.delete(f"{big_server.url}/blobs/{key}", timeout=TIMEOUT)
        assert gone.status_code == 204
