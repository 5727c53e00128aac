"""No torn or lost blob after kill -9, a full disk or SIGTERM; health follows the storage."""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.acceptance.helpers import (
    TIMEOUT,
    assert_problem,
    data_files,
    get,
    list_all,
    put,
    tmp_files,
)
from tests.support import Server


def repr_digest(data: bytes) -> str:
    return "sha-256=:" + base64.b64encode(hashlib.sha256(data).digest()).decode() + ":"


def slow_body(stop: threading.Event, piece: bytes, pause: float) -> Iterator[bytes]:
    while not stop.is_set():
        yield piece
        time.sleep(pause)


def wait_for(predicate: object, timeout: float = 10.0) -> None:
    assert callable(predicate)
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.05)


def test_kill_9_during_a_replace_keeps_the_old_version(tmp_path: Path) -> None:
    root = tmp_path / "data"
    srv = Server(root.as_uri(), tmp_path / "server.log").start()
    try:
        old = os.urandom(2 << 20)
        put(srv, "victim", old)
        put(srv, "bystander", b"b")
        stop = threading.Event()
        errors: list[BaseException] = []

        def replace() -> None:
            try:
                requests.put(
                    f"{srv.url}/blobs/victim",
                    data=slow_body(stop, b"n" * (256 << 10), 0.02),
                    timeout=TIMEOUT,
                )
            except requests.RequestException as exc:
                errors.append(exc)

        writer = threading.Thread(target=replace)
        writer.start()
        wait_for(lambda: tmp_files(root) and os.path.getsize(root / "tmp" / tmp_files(root)[0]))
        time.sleep(0.3)
        srv.kill()
        stop.set()
        writer.join(TIMEOUT)
        assert errors, "the upload cannot have succeeded"
        assert tmp_files(root), "the crash left its temporary file"

        srv.start()
        assert tmp_files(root) == []
        r = get(srv, "victim")
        assert r.content == old
        assert r.headers["Repr-Digest"] == repr_digest(old)
        assert len(data_files(root)) == len(list_all(srv)) == 2
    finally:
        srv.stop()


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """An 8 MiB tmpfs mounted for this test only."""
    mount = tmp_path / "disk"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=True)


@pytest.mark.parametrize("direct", [False, True], ids=["buffered", "direct"])
def test_full_disk_is_507_and_leaves_nothing(
    small_disk: Path, tmp_path: Path, direct: bool
) -> None:
    root = small_disk / "data"
    url = root.as_uri() + ("?direct=1" if direct else "")
    with Server(url, tmp_path / "server.log") as srv:
        previous = os.urandom(1 << 20)
        assert put(srv, "previous", previous).status_code == 201
        body_file = tmp_path / "huge"
        body_file.write_bytes(b"h" * (20 << 20))
        run = subprocess.run(
            [
                "curl",
                "-sS",
                "-o",
                "-",
                "-w",
                "\n%{http_code}",
                "-T",
                str(body_file),
                f"{srv.url}/blobs/huge",
            ],
            capture_output=True,
            timeout=60,
        )
        body, _, code = run.stdout.rpartition(b"\n")
        assert code == b"507", (run.stdout[-300:], run.stderr)
        assert b"storage-full" in body
        assert tmp_files(root) == []
        assert len(data_files(root)) == 1
        assert get(srv, "previous").content == previous
        assert_problem(get(srv, "huge"), 404)

        big = chunked_put(srv, "huge-chunked", 20 << 20)
        assert big in (507, None)
        assert tmp_files(root) == []
        assert get(srv, "previous").content == previous

        assert requests.delete(f"{srv.url}/blobs/previous", timeout=TIMEOUT).status_code == 204
        assert put(srv, "after", os.urandom(3 << 20)).status_code == 201
        assert [b["key"] for b in list_all(srv)] == ["after"]
        assert len(data_files(root)) == 1


def chunked_put(srv: Server, key: str, size: int) -> int | None:
    """PUT ``size`` bytes chunked; the status, or None if the server cut the upload."""

    def pieces() -> Iterator[bytes]:
        for _ in range(size >> 20):
            yield b"c" * (1 << 20)

    try:
        return requests.put(f"{srv.url}/blobs/{key}", data=pieces(), timeout=TIMEOUT).status_code
    except requests.ConnectionError:
        return None


def test_health_follows_the_storage(tmp_path: Path) -> None:
    root = tmp_path / "data"
    with Server(root.as_uri(), tmp_path / "server.log") as srv:
        r = requests.get(f"{srv.url}/healthz", timeout=TIMEOUT)
        assert r.status_code == 200
        assert r.json()["status"] == "ok"
        moved = tmp_path / "moved"
        root.rename(moved)
        root.write_bytes(b"not a directory")
        try:
            r = requests.get(f"{srv.url}/healthz", timeout=TIMEOUT)
            assert r.status_code == 503
            answer = put(srv, "during", b"x")
            assert 500 <= answer.status_code < 600 and answer.status_code != 500
        finally:
            root.unlink()
            moved.rename(root)
        assert requests.get(f"{srv.url}/healthz", timeout=TIMEOUT).status_code == 200
        assert put(srv, "after", b"x").status_code == 201


def test_sigterm_lets_a_download_finish_or_cuts_it(tmp_path: Path) -> None:
    root = tmp_path / "data"
    srv = Server(root.as_uri(), tmp_path / "server.log").start()
    data = os.urandom(48 << 20)
    put(srv, "download", data)
    received = bytearray()
    complete = False
    with requests.get(f"{srv.url}/blobs/download", stream=True, timeout=TIMEOUT) as r:
        assert r.headers["Content-Length"] == str(len(data))
        pieces = r.iter_content(1 << 20)
        received += next(pieces)
        started = time.monotonic()
        stopper = threading.Thread(target=srv.stop)
        stopper.start()
        try:
            for piece in pieces:
                received += piece
                time.sleep(0.01)
            complete = True
        except requests.RequestException:
            complete = False
    stopper.join(60)
    assert not stopper.is_alive()
    assert srv.proc is not None and srv.proc.poll() is not None
    assert time.monotonic() - started < 35
    if complete:
        assert bytes(received) == data
    else:
        assert len(received) < len(data)
        assert bytes(received) == data[: len(received)]
    shutil.rmtree(root)
