"""``Client.put`` sends one chunked PUT with its SHA-256 in a trailer, read and hashed once."""

from __future__ import annotations

import base64
import hashlib
import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

import blobstream
from blobstream.client import Client, ConflictError
from tests.cli.helpers import random_file, unique
from tests.cli.proxy import CorruptingProxy
from tests.support import Server

MiB = 1 << 20


class RecordingProxy(CorruptingProxy):
    """Forwards untouched and keeps every byte the client sent upstream (``sent``)."""

    def __init__(self, port: int) -> None:
        super().__init__(port, offset=-1, upstream=True)


@pytest.fixture
def client(server: Server) -> Iterator[Client]:
    with blobstream.Client(server.url) as c:
        yield c


def trailer_digest(sent: bytes) -> bytes:
    """The request head must announce the trailer; return the digest the trailer carries."""
    head, _, body = sent.partition(b"\r\n\r\n")
    assert re.search(rb"(?im)^Transfer-Encoding: chunked\r?$", head), head
    assert re.search(rb"(?im)^Trailer: Content-Digest\r?$", head), head
    assert not re.search(rb"(?im)^Content-(Length|Digest):", head), head
    match = re.search(rb"\r\n0\r\nContent-Digest: sha-256=:([A-Za-z0-9+/=]+):\r\n\r\n$", body)
    assert match is not None, body[-200:]
    return base64.b64decode(match[1])


@pytest.mark.parametrize("kind", ["path", "file", "iterable"])
def test_put_sends_the_sha256_as_a_trailer(server: Server, tmp_path: Path, kind: str) -> None:
    src = random_file(tmp_path / "f.bin", 3 * MiB + 5)
    data = src.read_bytes()
    key = unique("trailer")
    with RecordingProxy(server.port) as proxy, blobstream.Client(proxy.url) as c:
        if kind == "path":
            stat = c.put(key, src)
        elif kind == "file":
            stat = c.put(key, io.BufferedReader(io.BytesIO(data)))  # type: ignore[arg-type]
        else:
            stat = c.put(key, (data[i : i + 100_000] for i in range(0, len(data), 100_000)))
        sent = bytes(proxy.sent)
    assert trailer_digest(sent) == hashlib.sha256(data).digest()
    assert stat.sha256 == hashlib.sha256(data).hexdigest()
    with requests.get(f"{server.url}/blobs/{key}", timeout=10) as response:
        assert response.content == data


def test_an_empty_body_sends_the_empty_digest(client: Client) -> None:
    key = unique("trailer")
    assert client.put(key, [b""]).size == 0
    assert client.stat(key).sha256 == hashlib.sha256(b"").hexdigest()


def test_a_refusal_before_the_body_is_read_is_reported_as_such(
    client: Client, tmp_path: Path
) -> None:
    """The server answers 412 at once; the client reads that answer, not a broken pipe."""
    key = unique("trailer")
    client.put(key, [b"first"])
    big = random_file(tmp_path / "big.bin", 32 * MiB)
    with pytest.raises(ConflictError) as caught:
        client.put(key, big, if_none_match=True)
    assert caught.value.status == 412
    assert client.stat(key).size == 5
