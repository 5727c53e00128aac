"""rclone's webdav backend (``vendor=other``): a tree up and down, ``rclone check`` clean.

The tree has a large file (300 MiB on the file backend; 32 MiB on PostgreSQL
and S3-on-moto, where moto keeps every byte in its own memory and the time
budget of the suite would not hold), small files, nesting and an empty folder.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.dav.conftest import WRITE, DavServer

MIB = 1 << 20
LARGE = {"file": 300 * MIB, "postgresql": 32 * MIB, "s3": 32 * MIB}


def _scratch() -> Path:
    shm = Path("/dev/shm")
    base = shm if shm.is_dir() and os.access(shm, os.W_OK) else Path(tempfile.gettempdir())
    return Path(tempfile.mkdtemp(prefix="blobstream-rclone-", dir=base))


def write_large(path: Path, size: int) -> str:
    """``size`` bytes, every MiB different; its SHA-256."""
    digest = hashlib.sha256()
    block = bytearray(os.urandom(MIB))
    with path.open("wb") as f:
        for i in range(size // MIB):
            block[:8] = i.to_bytes(8, "big")
            digest.update(block)
            f.write(block)
    return digest.hexdigest()


@pytest.fixture
def scratch() -> Iterator[Path]:
    path = _scratch()
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def rclone(dav: DavServer, *args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("rclone")
    assert exe, "rclone is not installed (scripts/system-deps.sh installs it)"
    obscured = subprocess.run(
        [exe, "obscure", WRITE], capture_output=True, text=True, check=True
    ).stdout.strip()
    env = {
        **os.environ,
        "RCLONE_CONFIG": os.devnull,
        "RCLONE_CONFIG_BS_TYPE": "webdav",
        "RCLONE_CONFIG_BS_URL": dav.dav,
        "RCLONE_CONFIG_BS_VENDOR": "other",
        "RCLONE_CONFIG_BS_USER": "rclone",
        "RCLONE_CONFIG_BS_PASS": obscured,
    }
    return subprocess.run([exe, *args], capture_output=True, text=True, env=env, timeout=timeout)


def test_rclone_copies_a_tree_up_and_down(dav_server: DavServer, scratch: Path) -> None:
    src, back = scratch / "src", scratch / "back"
    (src / "deep" / "er").mkdir(parents=True)
    (src / "empty").mkdir()
    size = LARGE[dav_server.name]
    sha = write_large(src / "large.bin", size)
    for i in range(5):
        (src / "deep" / f"small-{i}.txt").write_bytes(os.urandom(1000 * i + 1))
    (src / "deep" / "er" / "naïve name (1).txt").write_text("ü" * 100)
    top = f"rclone-{uuid.uuid4().hex[:8]}"

    up = rclone(dav_server, "copy", "--create-empty-src-dirs", str(src), f"bs:{top}")
    assert up.returncode == 0, up.stderr
    check = rclone(dav_server, "check", str(src), f"bs:{top}")
    assert check.returncode == 0, check.stderr
    assert "0 differences found" in check.stderr
    down = rclone(dav_server, "copy", "--create-empty-src-dirs", f"bs:{top}", str(back))
    assert down.returncode == 0, down.stderr
    for path in src.rglob("*"):
        twin = back / path.relative_to(src)
        assert twin.is_dir() if path.is_dir() else twin.read_bytes() == path.read_bytes(), path
    assert sorted(p.relative_to(back) for p in back.rglob("*")) == sorted(
        p.relative_to(src) for p in src.rglob("*")
    )
    # The same bytes over the REST API
    got = requests.get(
        f"{dav_server.url}/blobs/{top}/large.bin", auth=("x", WRITE), stream=True, timeout=120
    )
    digest = hashlib.sha256()
    for piece in got.iter_content(MIB):
        digest.update(piece)
    assert got.status_code == 200 and digest.hexdigest() == sha
    assert got.headers["Repr-Digest"]
