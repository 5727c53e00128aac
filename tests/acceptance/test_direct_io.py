"""``file:///path?direct=1``: every way a body arrives lands whole, and a failed one
leaves nothing; the pieces that can go to disk with O_DIRECT do."""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from tusclient.client import TusClient

from tests.acceptance.helpers import TIMEOUT, data_files, get, put, tmp_files, unique
from tests.support import Server

MiB = 1 << 20


@pytest.fixture(scope="module")
def direct(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Path]]:
    root = tmp_path_factory.mktemp("direct") / "data"
    srv = Server(f"{root.as_uri()}?direct=1", root.parent / "server.log")
    with srv:
        yield srv, root


@pytest.mark.parametrize("size", [0, 4096, MiB, 3 * MiB + 1, 16 * MiB + 4095])
@pytest.mark.parametrize("chunked", [False, True], ids=["length", "chunked"])
def test_put_and_get(direct: tuple[Server, Path], size: int, chunked: bool) -> None:
    srv, _ = direct
    body = os.urandom(size)
    key = unique("direct")
    if chunked:
        r = requests.put(f"{srv.url}/blobs/{key}", data=iter([body[:12345], body[12345:]]),
                         timeout=TIMEOUT)  # fmt: skip
    else:
        r = put(srv, key, body)
    assert r.status_code == 201, r.text
    assert r.json()["sha256"] == hashlib.sha256(body).hexdigest()
    assert get(srv, key).content == body
    if size > 8192:
        ranged = get(srv, key, Range="bytes=4095-8192")
        assert (ranged.status_code, ranged.content) == (206, body[4095:8193])


def test_multipart_post_and_tus(direct: tuple[Server, Path]) -> None:
    srv, _ = direct
    body = os.urandom(5 * MiB + 17)
    r = requests.post(f"{srv.url}/blobs", files={"f": ("form.bin", body)}, timeout=TIMEOUT)
    assert r.status_code == 201, r.text
    assert get(srv, r.json()["blobs"][0]["key"]).content == body
    key = unique("direct-tus")
    uploader = TusClient(f"{srv.url}/uploads").uploader(
        file_stream=io.BytesIO(body), chunk_size=2 * MiB + 3, metadata={"key": key}
    )
    uploader.upload()
    assert get(srv, key).content == body


def test_a_failed_put_leaves_the_previous_version_and_no_file(
    direct: tuple[Server, Path],
) -> None:
    srv, root = direct
    key = unique("direct")
    assert put(srv, key, b"previous").status_code == 201
    files = len(data_files(root))
    bad = put(srv, key, os.urandom(4 * MiB), **{"Content-Digest": "sha-256=:" + "A" * 43 + "=:"})
    assert bad.status_code == 400
    assert get(srv, key).content == b"previous"
    assert len(data_files(root)) == files and tmp_files(root) == []
