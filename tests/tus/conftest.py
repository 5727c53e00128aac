"""Fixtures for the tus tests: a large test file in memory, the npm client installed."""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

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
