"""A byte damaged on the wire is caught: exit VERIFICATION, and nothing looks complete."""

from __future__ import annotations

from pathlib import Path

import requests

from blobstream.cli.status import ExitStatus
from tests.cli.helpers import Cli, one_line, random_file, unique
from tests.cli.proxy import CorruptingProxy
from tests.support import Server

MiB = 1 << 20
INTO_BODY = 700_000  # past any request or response head


def test_put_of_a_file_damaged_on_the_way_is_refused(
    cli: Cli, server: Server, tmp_path: Path
) -> None:
    src = random_file(tmp_path / "f.bin", 2 * MiB)
    key = unique("damaged")
    with CorruptingProxy(server.port, INTO_BODY, upstream=True) as proxy:
        done = cli.run("put", str(src), key, "--url", proxy.url)
    assert done.returncode == ExitStatus.VERIFICATION
    assert "digest" in one_line(done.stderr).lower()
    assert requests.head(f"{server.url}/blobs/{key}", timeout=10).status_code == 404


def test_put_of_stdin_damaged_on_the_way_is_refused(
    cli: Cli, server: Server, tmp_path: Path
) -> None:
    """stdin is hashed while it is sent; the digest in the trailer lets the server refuse it."""
    data = random_file(tmp_path / "f.bin", 2 * MiB).read_bytes()
    key = unique("damaged")
    with CorruptingProxy(server.port, INTO_BODY, upstream=True) as proxy:
        done = cli.run("put", "-", key, "--url", proxy.url, stdin=data)
    assert done.returncode == ExitStatus.VERIFICATION
    assert "digest" in one_line(done.stderr).lower()
    assert requests.head(f"{server.url}/blobs/{key}", timeout=10).status_code == 404


def test_tus_chunk_damaged_on_the_way_is_sent_again(
    cli: Cli, server: Server, tmp_path: Path
) -> None:
    src = random_file(tmp_path / "f.bin", 3 * MiB)
    key = unique("damaged")
    with CorruptingProxy(server.port, INTO_BODY, upstream=True) as proxy:
        done = cli.run("put", str(src), key, "--resume", "--chunk-size", "1M", "--url", proxy.url)
    assert done.returncode == 0, done.stderr  # the server answered 460; the chunk was re-sent
    with requests.get(f"{server.url}/blobs/{key}", timeout=10) as response:
        assert response.content == src.read_bytes()


def test_get_damaged_on_the_way_keeps_only_the_part_file(
    cli: Cli, server: Server, tmp_path: Path
) -> None:
    src = random_file(tmp_path / "f.bin", 2 * MiB)
    key = unique("damaged")
    assert cli.run("put", str(src), key).returncode == 0
    dest = tmp_path / "dest.bin"
    with CorruptingProxy(server.port, INTO_BODY, upstream=False) as proxy:
        done = cli.run("get", key, str(dest), "--url", proxy.url)
        piped = cli.run("get", key, "-", "--url", proxy.url)  # second connection: undamaged
    assert done.returncode == ExitStatus.VERIFICATION
    assert "SHA-256 mismatch" in one_line(done.stderr)
    assert not dest.exists() and (tmp_path / "dest.bin.part").exists()
    assert piped.returncode == 0 and piped.stdout == src.read_bytes()
