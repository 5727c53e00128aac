"""Resource faults: a read-only data directory, storage that vanishes, many connections,
slow readers. ``tests/acceptance/test_failures.py`` covers the full disk and the
basic health flip; these go further."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.acceptance.helpers import TIMEOUT, assert_problem, get, put
from tests.hardening.conftest import server_rss, workers
from tests.support import Server


def assert_unavailable(r: requests.Response) -> None:
    assert_problem(r, 503)
    assert int(r.headers["Retry-After"]) > 0


@contextlib.contextmanager
def read_only(path: Path) -> Iterator[None]:
    """An empty read-only tmpfs over ``path`` (this container may not remount in place)."""
    subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(path)], check=True)
    try:
        yield
    finally:
        subprocess.run(["umount", "-l", str(path)], check=True)


def test_read_only_data_directory_refuses_writes_then_recovers(tmp_path: Path) -> None:
    root = tmp_path / "data"
    with Server(root.as_uri(), tmp_path / "server.log") as srv:
        before = os.urandom(1 << 20)
        assert put(srv, "before", before).status_code == 201
        with read_only(root / "tmp"):
            assert_unavailable(put(srv, "during", b"x" * 1000))
            r = requests.post(f"{srv.url}/blobs", data=b"x", timeout=TIMEOUT)
            assert_unavailable(r)
            assert get(srv, "before").content == before  # reads go on
        assert get(srv, "before").content == before
        assert_problem(get(srv, "during"), 404)
        assert put(srv, "after", b"y").status_code == 201  # no restart needed
        assert requests.get(f"{srv.url}/healthz", timeout=TIMEOUT).status_code == 200
        assert list((root / "tmp").iterdir()) == []


def test_vanished_storage_is_503_with_retry_after_everywhere_then_recovers(
    tmp_path: Path,
) -> None:
    root = tmp_path / "data"
    with Server(root.as_uri(), tmp_path / "server.log") as srv:
        assert put(srv, "kept", b"kept").status_code == 201
        pids = workers(srv)
        root.rename(tmp_path / "away")
        try:
            health = requests.get(f"{srv.url}/healthz", timeout=TIMEOUT)
            assert health.status_code == 503
            assert_unavailable(get(srv, "kept"))
            assert_unavailable(put(srv, "new", b"n"))
            listing = requests.get(f"{srv.url}/blobs", timeout=TIMEOUT)  # the open index
            assert listing.status_code == 200 or assert_unavailable(listing) is None
        finally:
            (tmp_path / "away").rename(root)
        assert requests.get(f"{srv.url}/healthz", timeout=TIMEOUT).status_code == 200
        assert get(srv, "kept").content == b"kept"
        assert put(srv, "new", b"n").status_code == 201
        assert workers(srv) == pids  # recovered without a restart
        assert "Traceback" not in srv.log()


def _raw_get(port: int, head: bytes, pause: float) -> bytes:
    """Send ``head`` a byte at a time, ``pause`` seconds apart; return the first answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        try:
            for byte in head:
                sock.sendall(bytes([byte]))
                time.sleep(pause)
        except OSError:
            pass  # the server answered and closed first
        return sock.recv(65536)


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("guarded")
    env = {"BLOBSTREAM_HEADER_TIMEOUT": "2"}
    with Server((root / "data").as_uri(), root / "server.log", env=env) as srv:
        yield srv


def test_hundreds_of_idle_and_half_sent_connections_do_not_lock_clients_out(
    guarded: Server,
) -> None:
    """400 silent connections and 50 that sent half a header (more than the 32 threads):
    gthread alone kept /healthz from answering for over 90 s. No thread waits on a
    silent or slow client now."""
    socks = []
    try:
        for i in range(400):
            sock = socket.create_connection(("127.0.0.1", guarded.port), timeout=5)
            socks.append(sock)
            if i < 50:
                sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        time.sleep(0.5)
        for _ in range(5):
            start = time.monotonic()
            r = requests.get(f"{guarded.url}/healthz", timeout=30)
            assert r.status_code == 200
            assert time.monotonic() - start < 1, "a client waited behind idle connections"
    finally:
        for sock in socks:
            sock.close()


def test_a_head_sent_slowly_but_in_time_is_served(guarded: Server) -> None:
    head = b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    answer = _raw_get(guarded.port, head, 0.01)
    assert answer.startswith(b"HTTP/1.1 200 ")


def test_a_head_slower_than_the_header_timeout_gets_408(guarded: Server) -> None:
    head = b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"X-Slow: 1\r\n" * 20 + b"\r\n"
    start = time.monotonic()
    answer = _raw_get(guarded.port, head, 0.01)  # ~2.7 s in all, 10 ms per byte
    assert answer.startswith(b"HTTP/1.1 408 "), answer
    assert b"application/problem+json" in answer
    assert b"did not arrive within 2 seconds" in answer
    assert 1.5 < time.monotonic() - start < 5
    assert requests.get(f"{guarded.url}/healthz", timeout=TIMEOUT).status_code == 200


@pytest.mark.parametrize("ranges", [None, "bytes=0-10,20000000-60000000"])
def test_slow_reader_does_not_grow_server_memory(fresh_server: Server, ranges: str | None) -> None:
    """64 MiB read at ~2 MiB/s for a few seconds: the server must not buffer ahead."""
    size = 64 << 20
    with open("/dev/urandom", "rb") as f:
        body = f.read(size)
    assert put(fresh_server, "big", body).status_code == 201
    del body
    baseline = server_rss(fresh_server)
    peak = baseline
    headers = {"Range": ranges} if ranges else {}
    with requests.get(
        f"{fresh_server.url}/blobs/big", headers=headers, stream=True, timeout=TIMEOUT
    ) as r:
        assert r.status_code == (206 if ranges else 200)
        received = 0
        deadline = time.monotonic() + 4
        for piece in r.raw.stream(64 << 10, decode_content=False):
            received += len(piece)
            time.sleep(0.03)
            peak = max(peak, server_rss(fresh_server))
            if time.monotonic() > deadline:
                break
    assert received > 1 << 20
    assert peak - baseline < 24 << 20, f"server RSS grew {(peak - baseline) >> 20} MiB"
    print(f"slow reader {ranges or 'whole'}: RSS {baseline >> 20} -> {peak >> 20} MiB")
    assert requests.get(f"{fresh_server.url}/healthz", timeout=TIMEOUT).status_code == 200


def test_a_worker_started_while_storage_is_gone_waits_for_it(tmp_path: Path) -> None:
    """A worker that boots while the data directory is missing (unmounted, renamed)
    answers 503 and never makes an empty store in its place; it opens the real one
    when it is back."""
    root = tmp_path / "data"
    with Server(root.as_uri(), tmp_path / "server.log") as srv:
        assert put(srv, "kept", b"kept").status_code == 201
        root.rename(tmp_path / "away")
        try:
            for pid in workers(srv):
                os.kill(pid, signal.SIGKILL)  # gunicorn boots new workers now
            deadline = time.monotonic() + 30
            while len(workers(srv)) < 2 and time.monotonic() < deadline:
                time.sleep(0.1)
            health = requests.get(f"{srv.url}/healthz", timeout=TIMEOUT)
            assert health.status_code == 503
            assert_unavailable(put(srv, "new", b"n"))
            assert not root.exists(), "a worker made a new, empty store in place of the real one"
        finally:
            (tmp_path / "away").rename(root)
        assert requests.get(f"{srv.url}/healthz", timeout=TIMEOUT).status_code == 200
        assert get(srv, "kept").content == b"kept"
