"""``blobstream.Client`` against a real server: put/get/stat/list/delete, resumable uploads."""

from __future__ import annotations

import hashlib
import io
import itertools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

import blobstream
from blobstream.client import (
    BlobStat,
    Client,
    ConflictError,
    ConnectionFailed,
    InvalidKeyError,
    NotFoundError,
    ResumeState,
)
from tests.cli.helpers import random_file, sha256_file, unique
from tests.support import Server, free_port

MiB = 1 << 20


@pytest.fixture
def client(server: Server) -> Iterator[Client]:
    with blobstream.Client(server.url) as c:
        yield c


def test_put_path_file_object_and_iterable(client: Client, tmp_path: Path) -> None:
    src = random_file(tmp_path / "a.json", 2 * MiB + 5)
    key = unique("client")
    stat = client.put(key + "/path.json", src)
    assert (stat.size, stat.sha256) == (src.stat().st_size, sha256_file(src))
    assert stat.content_type.startswith("application/json")  # guessed from the name

    stat = client.put(key + "/buffer", io.BytesIO(b"bytes in memory"), content_type="text/plain")
    assert stat.sha256 == hashlib.sha256(b"bytes in memory").hexdigest()

    pieces = (bytes([i]) * 1000 for i in range(256))
    stat = client.put(key + "/generator", pieces)
    expected = hashlib.sha256(b"".join(bytes([i]) * 1000 for i in range(256))).hexdigest()
    assert (stat.size, stat.sha256) == (256_000, expected)


def test_get_to_path_and_file_object(client: Client, tmp_path: Path) -> None:
    src = random_file(tmp_path / "src", 3 * MiB)
    key = unique("client")
    client.put(key, src)
    stat = client.get(key, tmp_path / "dest")
    assert stat.sha256 == sha256_file(tmp_path / "dest") == sha256_file(src)
    sink = io.BytesIO()
    client.get(key, sink)
    assert sink.getvalue() == src.read_bytes()


def test_stat_and_delete(client: Client) -> None:
    key = unique("client")
    put = client.put(key, [b"abc"], content_type="text/plain")
    stat = client.stat(key)
    assert isinstance(stat, BlobStat)
    assert (stat.size, stat.etag, stat.sha256) == (3, put.etag, hashlib.sha256(b"abc").hexdigest())
    assert stat.content_type.startswith("text/plain")
    assert stat.last_modified is not None
    with pytest.raises(ConflictError):
        client.delete(key, if_match='"another-version"')
    client.delete(key, if_match=stat.etag)
    with pytest.raises(NotFoundError):
        client.stat(key)
    with pytest.raises(NotFoundError):
        client.delete(key)


def test_list_is_lazy_and_follows_the_cursor(client: Client) -> None:
    prefix = unique("list") + "/"
    keys = [f"{prefix}{i:03d}" for i in range(23)]
    for key in keys:
        client.put(key, [key.encode()])
    pages: list[Any] = []
    client.transport.session.hooks["response"].append(lambda r, *a, **k: pages.append(r.url))
    listing = client.list(prefix, page_size=5)
    first = list(itertools.islice(listing, 5))
    assert [b.key for b in first] == keys[:5] and len(pages) == 1
    rest = list(listing)
    assert [b.key for b in first + rest] == keys
    assert len(pages) == 5
    assert all(b.size == len(b.key) for b in rest)


def test_if_none_match_refuses_to_overwrite(client: Client) -> None:
    key = unique("client")
    client.put(key, [b"first"], if_none_match=True)
    with pytest.raises(ConflictError):
        client.put(key, [b"second"], if_none_match=True)


def test_invalid_keys_raise_before_sending(client: Client) -> None:
    for key in ("", "/a", "a/./b", "a/../b", "a\x00b"):
        with pytest.raises(InvalidKeyError):
            client.put(key, [b"x"])


def test_unreachable_server_raises_connection_failed() -> None:
    with Client(f"http://127.0.0.1:{free_port()}") as c, pytest.raises(ConnectionFailed):
        c.stat("anything")


def test_upload_resumable_continues_a_remembered_upload(
    client: Client, server: Server, tmp_path: Path
) -> None:
    src = random_file(tmp_path / "big.bin", 4 * MiB)
    key = unique("resumable")
    state = ResumeState(tmp_path / "state.json")

    class Stop(Exception):
        pass

    sent: list[int] = []

    def stop_after_two_chunks(n: int) -> None:
        sent.append(n)
        if sum(sent) > 2 * MiB:
            raise Stop

    with pytest.raises(Stop):
        client.upload_resumable(
            key, src, chunk_size=MiB, state=state, progress=stop_after_two_chunks
        )
    with pytest.raises(NotFoundError):
        client.stat(key)

    resumed_at: list[int] = []
    stat = client.upload_resumable(
        key, src, chunk_size=MiB, state=state, on_resume=lambda offset, _: resumed_at.append(offset)
    )
    assert len(resumed_at) == 1 and 2 * MiB <= resumed_at[0] < 4 * MiB
    assert stat.sha256 == sha256_file(src)
    assert requests.head(f"{server.url}/blobs/{key}", timeout=10).status_code == 200
    assert json.loads(state.path.read_text())["uploads"] == {}
