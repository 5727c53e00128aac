"""Expiration (lazy 410, sweeper reclaiming bytes) and flat server memory during a large PATCH."""

from __future__ import annotations

import base64
import hashlib
import os
import socket
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import psutil

from tests.support import Server
from tests.tus.conftest import MIB
from tests.tus.tusraw import head, new_upload, patch


def test_expired_upload_is_410_then_404(tmp_path: Path) -> None:
    env = {"BLOBSTREAM_UPLOAD_EXPIRY": "1", "BLOBSTREAM_UPLOAD_SWEEP_INTERVAL": "3600"}
    with Server((tmp_path / "data").as_uri(), tmp_path / "server.log", env=env) as server:
        url = new_upload(server.url, 10)
        r = patch(url, 0, b"12345")
        assert r.status_code == 204 and "Upload-Expires" in r.headers
        time.sleep(1.3)
        assert head(url).status_code == 410
        assert patch(url, 5, b"67890").status_code == 404  # reclaimed on first sight
        upload_file = tmp_path / "data" / "uploads" / urlsplit(url).path.rsplit("/", 1)[1]
        assert not upload_file.exists()


def test_sweeper_reclaims_expired_uploads_without_requests(tmp_path: Path) -> None:
    env = {"BLOBSTREAM_UPLOAD_EXPIRY": "1", "BLOBSTREAM_UPLOAD_SWEEP_INTERVAL": "0.5"}
    with Server((tmp_path / "data").as_uri(), tmp_path / "server.log", env=env) as server:
        url = new_upload(server.url, 1 << 20)
        assert patch(url, 0, os.urandom(4096)).status_code == 204
        upload_file = tmp_path / "data" / "uploads" / urlsplit(url).path.rsplit("/", 1)[1]
        assert upload_file.exists()
        deadline = time.monotonic() + 10
        while upload_file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not upload_file.exists()
        assert head(url).status_code == 404


def test_interrupted_patch_keeps_what_arrived(fresh_server: Server) -> None:
    url = new_upload(fresh_server.url, 8 * MIB, key="tus/interrupted.bin")
    data = os.urandom(8 * MIB)
    with socket.create_connection(("127.0.0.1", fresh_server.port)) as sock:
        sock.sendall(
            f"PATCH {urlsplit(url).path} HTTP/1.1\r\nHost: x\r\nTus-Resumable: 1.0.0\r\n"
            "Content-Type: application/offset+octet-stream\r\nUpload-Offset: 0\r\n"
            f"Content-Length: {len(data)}\r\n\r\n".encode()
        )
        sock.sendall(data[: 3 * MIB])
        time.sleep(0.3)
    deadline = time.monotonic() + 10
    while head(url).headers["Upload-Offset"] != str(3 * MIB) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert head(url).headers["Upload-Offset"] == str(3 * MIB)
    assert patch(url, 3 * MIB, data[3 * MIB :]).status_code == 204
    with __import__("requests").get(fresh_server.url + "/blobs/tus/interrupted.bin") as r:
        assert r.content == data
        # The running SHA-256 of the cut PATCH covered exactly the bytes it kept.
        digest = base64.b64encode(hashlib.sha256(data).digest()).decode()
        assert r.headers["Repr-Digest"] == f"sha-256=:{digest}:"


class PeakRSS:
    """Samples the summed RSS of a server's processes every few milliseconds."""

    def __init__(self, pid: int) -> None:
        self.root = psutil.Process(pid)
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            total = 0
            for proc in [self.root, *self.root.children(recursive=True)]:
                try:
                    total += proc.memory_info().rss
                except psutil.NoSuchProcess:
                    pass
            self.peak = max(self.peak, total)
            time.sleep(0.005)

    def __enter__(self) -> PeakRSS:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def send_patch(server: Server, size: int, block: bytes, pause: float = 0.0) -> None:
    url = new_upload(server.url, size)
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(
            f"PATCH {urlsplit(url).path} HTTP/1.1\r\nHost: x\r\nTus-Resumable: 1.0.0\r\n"
            "Content-Type: application/offset+octet-stream\r\nUpload-Offset: 0\r\n"
            f"Content-Length: {size}\r\nConnection: close\r\n\r\n".encode()
        )
        for _ in range(size // len(block)):
            sock.sendall(block)
            time.sleep(pause)
        reply = sock.makefile("rb").readline()
    assert reply.startswith(b"HTTP/1.1 204"), reply


def test_memory_stays_flat_during_a_large_patch(tmp_path: Path) -> None:
    """Peak RSS of a 1 GiB PATCH is within a few MiB of a 16 MiB one.

    The server pins glibc's mmap threshold in each worker (``launcher._post_fork``);
    without it freed 1 MiB pieces stay resident in the heap, up to ~30 MiB.
    """
    args = ("--workers", "1", "--threads", "4")
    log = tmp_path / "server.log"
    with Server((tmp_path / "data").as_uri(), log, args=args) as server:
        assert server.proc is not None
        block = os.urandom(MIB)
        send_patch(server, 16 * MIB, block)  # warm up: imports, buffers, connections
        with PeakRSS(server.proc.pid) as small:
            # slowly, so that the sampler sees the steady state of a short PATCH too
            send_patch(server, 16 * MIB, block, pause=0.03)
        with PeakRSS(server.proc.pid) as large:
            send_patch(server, 1024 * MIB, block)
    grown = (large.peak - small.peak) / MIB
    print(f"peak RSS: 16 MiB PATCH {small.peak / MIB:.1f} MiB, 1 GiB PATCH "
          f"{large.peak / MIB:.1f} MiB ({grown:+.1f} MiB)")  # fmt: skip
    assert grown < 8, f"server memory grew by {grown:.1f} MiB during a 1 GiB PATCH"
