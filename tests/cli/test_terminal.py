"""The progress bar: drawn on a terminal (a pty), absent on a pipe and with ``--quiet``."""

from __future__ import annotations

import os
import pty
import subprocess
import time
from pathlib import Path

from tests.cli.helpers import CLI, Cli, random_file, unique

MiB = 1 << 20


def run_on_terminal(cli: Cli, *args: str) -> tuple[int, str]:
    """Run the command with stderr on a pseudo-terminal; returns its status and screen output."""
    leader, follower = pty.openpty()
    env = {**cli.env, "TERM": "xterm-256color", "COLUMNS": "120"}
    proc = subprocess.Popen(
        [CLI, *args], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=follower, env=env
    )
    os.close(follower)
    screen = bytearray()
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            try:
                data = os.read(leader, 65536)
            except OSError:  # EIO: the command closed its end
                break
            if not data:
                break
            screen += data
    finally:
        os.close(leader)
        status = proc.wait(timeout=60)
    return status, screen.decode(errors="replace")


def test_progress_bar_on_a_terminal(cli: Cli, tmp_path: Path) -> None:
    src = random_file(tmp_path / "f.bin", 3 * MiB)
    key = unique()
    status, screen = run_on_terminal(cli, "put", str(src), key, "--limit-rate", "2M")
    assert status == 0, screen
    assert "━" in screen  # the bar
    assert "3.0/3.0 MiB" in screen  # bytes done of total
    assert "MB/s" in screen or "kB/s" in screen  # the rate
    assert "0:00:0" in screen  # the ETA

    status, screen = run_on_terminal(
        cli, "get", key, str(tmp_path / "back.bin"), "--limit-rate", "2M"
    )
    assert status == 0, screen
    assert "━" in screen and "3.0/3.0 MiB" in screen


def test_no_progress_on_a_pipe_or_when_quiet(cli: Cli, tmp_path: Path) -> None:
    src = random_file(tmp_path / "f.bin", MiB)
    key = unique()
    piped = cli.run("put", str(src), key)
    assert (piped.returncode, piped.stderr) == (0, b"")
    status, screen = run_on_terminal(cli, "get", key, str(tmp_path / "back.bin"), "--quiet")
    assert (status, screen) == (0, "")
