"""A plain ``put`` of a file is resumable, whatever stopped it, and checked end to end.

Each test sends 48 MiB through a paced relay, stops the upload midway — Ctrl-C,
the connection reset, the client killed, the server killed — and runs the same
command with ``--resume``: the relay must carry less than the file the second
time, and the stored blob must be the file.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import requests

from blobstream.cli.status import ExitStatus
from tests.cli.helpers import Cli, one_line, random_file, sha256_file, unique
from tests.cli.proxy import Relay
from tests.support import Server

MiB = 1 << 20
SIZE = 48 * MiB
RATE = 24 * MiB  # bytes per second through the relay while the first attempt runs


def _remembered(cli: Cli) -> bool:
    path = Path(cli.env["XDG_CACHE_HOME"]) / "blobstream" / "resume.json"
    return path.exists() and bool(json.loads(path.read_text()).get("uploads"))


def _stop_midway(
    cli: Cli,
    relay: Relay,
    src: Path,
    key: str,
    stop: Callable[[subprocess.Popen[bytes]], None],
    *args: str,
) -> tuple[int, str]:
    relay.reset_count(rate=RATE)
    proc = cli.start("put", str(src), key, "--url", relay.url, *args)
    deadline = time.monotonic() + 60
    while relay.upstream < SIZE // 3:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the upload never got going"
        time.sleep(0.02)
    assert _remembered(cli), "the upload must be remembered before its bytes go"
    stop(proc)
    _, err = proc.communicate(timeout=60)
    return proc.returncode, err.decode()


def _resume(cli: Cli, relay: Relay, src: Path, key: str, server_url: str) -> None:
    assert requests.head(f"{server_url}/blobs/{key}", timeout=10).status_code == 404
    relay.reset_count(rate=None)
    done = cli.run("put", str(src), key, "--url", relay.url, "--resume")
    assert done.returncode == 0, done.stderr
    match = re.search(rb"resuming the upload at byte (\d+) of (\d+)", done.stderr)
    assert match is not None, done.stderr
    assert 0 < int(match[1]) < SIZE
    assert relay.upstream < SIZE - int(match[1]) + MiB, "more than the missing bytes were sent"
    assert relay.upstream < SIZE
    head = requests.head(f"{server_url}/blobs/{key}", timeout=10)
    assert head.status_code == 200
    stat = json.loads(cli.run("stat", "--json", key, "--url", server_url).stdout)
    assert stat["sha256"] == sha256_file(src) and stat["size"] == SIZE
    assert not _remembered(cli)


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return random_file(tmp_path_factory.mktemp("resume") / "big.bin", SIZE)


def test_put_interrupted_by_ctrl_c_resumes(cli: Cli, server: Server, big: Path) -> None:
    key = unique("resume")
    with Relay(server.port) as relay:
        status, err = _stop_midway(cli, relay, big, key, lambda p: p.send_signal(signal.SIGINT))
        assert status == ExitStatus.INTERRUPTED, err
        assert "--resume" in one_line(err)
        _resume(cli, relay, big, key, server.url)


def test_put_cut_by_a_connection_reset_resumes(cli: Cli, server: Server, big: Path) -> None:
    key = unique("resume")
    with Relay(server.port) as relay:
        status, err = _stop_midway(cli, relay, big, key, lambda p: relay.cut())
        assert status == ExitStatus.CONNECTION, err
        assert "--resume" in one_line(err)
        _resume(cli, relay, big, key, server.url)


def test_put_of_a_killed_client_resumes(cli: Cli, server: Server, big: Path) -> None:
    key = unique("resume")
    with Relay(server.port) as relay:
        status, _ = _stop_midway(cli, relay, big, key, lambda p: p.kill())
        assert status == -signal.SIGKILL
        _resume(cli, relay, big, key, server.url)


def test_put_to_a_crashed_server_resumes(cli: Cli, fresh_server: Server, big: Path) -> None:
    key = unique("resume")
    with Relay(fresh_server.port) as relay:
        # The server records what it holds when a PATCH ends: one PATCH per 8 MiB here
        # (64 MiB by default), so its crash loses at most the PATCH under way.
        kill = lambda p: fresh_server.kill()  # noqa: E731
        status, err = _stop_midway(cli, relay, big, key, kill, "--chunk-size", "8M")
        assert status == ExitStatus.CONNECTION, err
        fresh_server.start()
        _resume(cli, relay, big, key, fresh_server.url)


def test_a_changed_file_is_refused_and_nothing_is_stored(
    cli: Cli, server: Server, tmp_path: Path
) -> None:
    """The bytes the server holds do not match the file any more: the digest catches it."""
    src = random_file(tmp_path / "f.bin", 24 * MiB)  # more than the socket buffers hold
    key = unique("resume")
    with Relay(server.port) as relay:
        relay.reset_count(rate=4 * MiB)
        proc = cli.start("put", str(src), key, "--url", relay.url)
        while relay.upstream < 3 * MiB:
            assert proc.poll() is None
            time.sleep(0.02)
        proc.kill()
        proc.communicate()
        mtime = src.stat().st_mtime_ns
        with open(src, "r+b") as f:  # the same size and mtime, bytes changed early on
            f.write(b"\x00" * 16)
        os.utime(src, ns=(mtime, mtime))
        relay.reset_count()
        done = cli.run("put", str(src), key, "--url", relay.url, "--resume")
        assert done.returncode == ExitStatus.VERIFICATION, done.stderr
        lines = done.stderr.decode().splitlines()
        assert "resuming the upload" in lines[0] and "digest" in lines[1].lower(), lines
        assert requests.head(f"{server.url}/blobs/{key}", timeout=10).status_code == 404
        again = cli.run("put", str(src), key, "--url", relay.url, "--resume")
        assert again.returncode == 0, again.stderr  # the bad upload is gone: start over
        assert b"resuming" not in again.stderr
    stat = json.loads(cli.run("stat", "--json", key).stdout)
    assert stat["sha256"] == sha256_file(src)
