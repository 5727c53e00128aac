"""``Client.open``: a seekable file over Range requests that ``zipfile`` can read in place."""

from __future__ import annotations

import hashlib
import io
import os
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from blobstream.client import BlobChangedError, Client
from tests.cli.helpers import random_file, unique
from tests.support import Server

MiB = 1 << 20
_BYTES_OUT = re.compile(r'^blobstream_bytes_out_total\{route="(/blobs/[^"]*)"\} (\S+)$', re.M)


def blob_bytes_sent(server: Server) -> int:
    """What the server has sent in blob bodies, from its Prometheus ``/metrics``."""
    text = requests.get(server.url + "/metrics", timeout=10).text
    return sum(int(float(value)) for _, value in _BYTES_OUT.findall(text))


@pytest.fixture
def client(fresh_server: Server) -> Iterator[Client]:
    with Client(fresh_server.url) as c:
        yield c


def big_zip(path: Path, members: int, member_size: int) -> dict[str, str]:
    """A stored (uncompressed) zip of random members; returns name -> SHA-256."""
    digests: dict[str, str] = {}
    block = os.urandom(MiB)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        for m in range(members):
            name = f"part-{m:03d}.bin"
            digest = hashlib.sha256()
            with archive.open(name, "w", force_zip64=True) as out:
                for i in range(0, member_size, MiB):
                    piece = (m * 100_000 + i).to_bytes(8, "big") + block[
                        8 : min(MiB, member_size - i)
                    ]
                    out.write(piece)
                    digest.update(piece)
            digests[name] = digest.hexdigest()
    return digests


def test_zipfile_reads_one_member_without_downloading_the_rest(
    client: Client, fresh_server: Server, tmp_path: Path
) -> None:
    path = tmp_path / "archive.zip"
    digests = big_zip(path, members=50, member_size=4 * MiB)
    assert path.stat().st_size > 200 * MiB
    key = unique("zip") + "/archive.zip"
    client.put(key, path)

    before = blob_bytes_sent(fresh_server)
    with client.open(key) as f, zipfile.ZipFile(f) as archive:
        assert len(archive.namelist()) == 50
        data = archive.read("part-031.bin")
    sent = blob_bytes_sent(fresh_server) - before
    assert hashlib.sha256(data).hexdigest() == digests["part-031.bin"]
    print(f"read a 4 MiB member of a {path.stat().st_size >> 20} MiB zip: {sent} bytes sent")
    assert sent < 4 * MiB + 512 * 1024, sent


def test_seek_and_read_match_the_local_file(client: Client, tmp_path: Path) -> None:
    src = random_file(tmp_path / "src", 5 * MiB + 123)
    local = src.read_bytes()
    key = unique("open")
    client.put(key, src)
    with client.open(key) as f:
        assert f.seekable() and f.readable() and not f.writable()
        for start, length in [(0, 10), (5 * MiB, 500), (MiB - 3, 7), (12345, 2 * MiB), (0, 0)]:
            f.seek(start)
            assert f.read(length) == local[start : start + length]
        f.seek(-100, io.SEEK_END)
        assert f.read() == local[-100:]
        assert f.read(10) == b""
        f.seek(0)
        assert hashlib.sha256(f.read()).digest() == hashlib.sha256(local).digest()


def test_a_replaced_blob_raises_instead_of_splicing(client: Client) -> None:
    key = unique("open")
    client.put(key, [b"a" * (3 * MiB)])
    with client.open(key) as f:
        assert f.read(10) == b"a" * 10
        client.put(key, [b"b" * (3 * MiB)])
        f.seek(2 * MiB)
        with pytest.raises(BlobChangedError):
            f.read(10)
