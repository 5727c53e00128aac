"""Fixtures for the tus tests: a large test file in memory, the npm client installed."""

from __future__ import annotations

import hashlib
import os
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

JS_DIR = Path(__file__).resolve().parent.parent / "js"
MIB = 1 << 20


@dataclass(frozen=True)
class Payload:
    path: Path
    size: int
    sha256: str


def _scratch() -> Path:
    shm = Path("/dev/shm")
    return shm if shm.is_dir() and os.access(shm, os.W_OK) else Path(tempfile.gettempdir())


@pytest.fixture(scope="session")
def payload() -> Iterator[Payload]:
    """300 MiB, every MiB different (a random block stamped with its index), in memory."""
    size = 300 * MIB
    block = bytearray(os.urandom(MIB))
    digest = hashlib.sha256()
    fd, name = tempfile.mkstemp(prefix="blobstream-tus-", dir=_scratch())
    path = Path(name)
    try:
        with os.fdopen(fd, "wb") as f:
            for i in range(size // MIB):
                block[:8] = i.to_bytes(8, "big")
                digest.update(block)
                f.write(block)
        yield Payload(path, size, digest.hexdigest())
    finally:
        path.unlink(missing_ok=True)


@pytest.fixture(scope="session")
def tus_js() -> Path:
    """tests/js with tus-js-client installed from its lock file (as ``make tests-js`` does)."""
    if not (JS_DIR / "node_modules" / "tus-js-client").is_dir():
        subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund", "--prefix", str(JS_DIR)],
            check=True,
            capture_output=True,
        )
    return JS_DIR
