"""Run the real ``blobstream`` command line against a real server."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from tests.support import BIN

CLI = str(BIN / "blobstream")
TIMEOUT = 120


def unique(prefix: str = "cli") -> str:
    return f"{prefix}/{uuid.uuid4().hex[:12]}"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while data := f.read(1 << 20):
            digest.update(data)
    return digest.hexdigest()


def random_file(path: Path, size: int) -> Path:
    """``size`` bytes that do not repeat within a MiB, written a MiB at a time."""
    with open(path, "wb") as f:
        block = os.urandom(1 << 20)
        for i in range(0, size, 1 << 20):
            piece = i.to_bytes(8, "big") + block[8:]
            f.write(piece[: min(1 << 20, size - i)])
    return path


class Cli:
    """``blobstream`` with ``BLOBSTREAM_URL`` and a cache directory of the test's own."""

    def __init__(self, url: str, cache: Path, extra_env: dict[str, str] | None = None) -> None:
        self.url = url
        self.env = {
            **os.environ,
            "BLOBSTREAM_URL": url,
            "XDG_CACHE_HOME": str(cache),
            **(extra_env or {}),
        }
        self.env.pop("BLOBSTREAM_TOKEN", None)

    def run(self, *args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            [CLI, *args], input=stdin, capture_output=True, env=self.env, timeout=TIMEOUT
        )

    def start(self, *args: str) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [CLI, *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=self.env,
        )

    def interrupt_when(
        self, proc: subprocess.Popen[bytes], ready: Callable[[], bool], timeout: float = 30
    ) -> tuple[int, str]:
        """Send SIGINT (Ctrl-C) once ``ready()``; returns the exit status and stderr."""
        deadline = time.monotonic() + timeout
        while not ready():
            assert proc.poll() is None, "the command ended before it could be interrupted"
            assert time.monotonic() < deadline, "the transfer never got going"
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=TIMEOUT)
        return proc.returncode, err.decode()


def held_for(seconds: float, condition: Callable[[], bool]) -> Callable[[], bool]:
    """A check that is true once ``condition`` has been true for ``seconds``."""
    started: list[float] = []

    def check() -> bool:
        if not condition():
            return False
        if not started:
            started.append(time.monotonic())
        return time.monotonic() - started[0] >= seconds

    return check


def one_line(stderr: bytes | str) -> str:
    """The command's error output, asserting it is one line and no traceback."""
    text = stderr.decode() if isinstance(stderr, bytes) else stderr
    assert "Traceback" not in text, text
    lines = text.strip().splitlines()
    assert len(lines) == 1, text
    return lines[0]
