"""A large PUT and GET over /dav use no more server memory than a small one: they stream.

256 MiB here to keep the suite fast; the 2 GiB figure of the issue is measured
the same way (docs/guide/webdav.md).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.dav.test_rclone import _scratch
from tests.support import Server

MIB = 1 << 20


def high_water(pid: int) -> int:
    """The peak resident set size of a process so far (VmHWM), in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM")


@pytest.fixture
def bodies() -> Iterator[tuple[Path, Path]]:
    scratch = _scratch()
    small, large = scratch / "small.bin", scratch / "large.bin"
    small.write_bytes(os.urandom(16 * MIB))
    with large.open("wb") as f:
        for _ in range(256):
            f.write(os.urandom(MIB))
    try:
        yield small, large
    finally:
        small.unlink()
        large.unlink()
        scratch.rmdir()


def curl(*args: str, stdin: Path | None = None) -> None:
    with open(stdin or os.devnull, "rb") as source:
        done = subprocess.run(
            ["curl", "-sS", "-o", os.devnull, "-w", "%{http_code}", *args],
            stdin=source,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert done.stdout.startswith("20"), (args, done.stdout, done.stderr)


def test_a_large_put_and_get_take_no_more_memory(tmp_path: Path, bodies: tuple[Path, Path]) -> None:
    small, large = bodies
    with Server((tmp_path / "data").as_uri(), tmp_path / "log", args=("--workers", "1")) as srv:
        (worker,) = srv.worker_pids()
        dav = srv.url + "/dav/"
        curl("-X", "MKCOL", dav + "m/")
        curl("-T", str(small), dav + "m/small")
        curl(dav + "m/small")
        after_small = high_water(worker)
        curl("-T", str(large), dav + "m/large")
        curl("-T", "-", dav + "m/chunked", stdin=large)  # chunked, as Finder sends
        curl(dav + "m/large")
        after_large = high_water(worker)
    print(f"worker peak RSS: {after_small >> 20} MiB after 16 MiB, {after_large >> 20} after 256")
    assert after_large < after_small + 16 * MIB, (after_small, after_large)
