"""``put`` and ``get`` of 1 GiB use as much memory as of 16 MiB: everything streams."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from tests.cli.helpers import Cli, random_file, sha256_file, unique

MiB = 1 << 20


def peak_rss(proc: subprocess.Popen[bytes]) -> int:
    """The highest resident set size of a running process, sampled from /proc until it ends."""
    peak = 0
    status = Path(f"/proc/{proc.pid}/status")
    while proc.poll() is None:
        try:
            for line in status.read_text().splitlines():
                if line.startswith(("VmRSS:", "VmHWM:")):
                    peak = max(peak, int(line.split()[1]) * 1024)
        except (OSError, ValueError):
            break
        time.sleep(0.02)
    return peak


def transfer_peaks(cli: Cli, src: Path, tmp_path: Path) -> tuple[int, int]:
    key = unique("memory")
    put = cli.start("put", str(src), key)
    put_peak = peak_rss(put)
    _, err = put.communicate(timeout=300)
    assert put.returncode == 0, err
    dest = tmp_path / "back.bin"
    get = cli.start("get", key, str(dest))
    get_peak = peak_rss(get)
    _, err = get.communicate(timeout=300)
    assert get.returncode == 0, err
    assert dest.stat().st_size == src.stat().st_size
    dest.unlink()
    assert cli.run("rm", key).returncode == 0
    return put_peak, get_peak


def test_put_and_get_memory_is_flat_for_1_gib(cli: Cli, tmp_path: Path) -> None:
    small = random_file(tmp_path / "small.bin", 16 * MiB)
    small_put, small_get = transfer_peaks(cli, small, tmp_path)
    small.unlink()
    big = random_file(tmp_path / "big.bin", 1024 * MiB)
    sha256_file(big)  # warm the page cache like the small file was
    big_put, big_get = transfer_peaks(cli, big, tmp_path)
    print(f"peak RSS: put {small_put >> 20} -> {big_put >> 20} MiB", end=", ")
    print(f"get {small_get >> 20} -> {big_get >> 20} MiB (16 MiB -> 1 GiB)")
    assert big_put < small_put + 16 * MiB, (small_put, big_put)
    assert big_get < small_get + 16 * MiB, (small_get, big_get)
    assert max(big_put, big_get) < 128 * MiB
