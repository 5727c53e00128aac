"""The examples in ``examples/`` as real processes: gunicorn (sync, gthread) and ``flask run``."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import requests

from tests.support import BIN, free_port

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
RUNNERS = ("sync", "gthread", "flask")


def command(runner: str, module: str, port: int, bin_dir: Path = BIN) -> list[str]:
    """How a reader would serve ``examples/<module>.py``."""
    if runner == "flask":
        app = str(EXAMPLES / f"{module}.py")
        return [str(bin_dir / "flask"), "--app", app, "run", "--port", str(port)]
    threads = ["--threads", "4"] if runner == "gthread" else []
    return [
        str(bin_dir / "gunicorn"), "--chdir", str(EXAMPLES), "--bind", f"127.0.0.1:{port}",
        "--workers", "1", "--worker-class", runner, *threads, "--no-control-socket",
        f"{module}:app",
    ]  # fmt: skip


class ExampleApp:
    """One example served by one runner, its output in a log file."""

    def __init__(
        self,
        runner: str,
        module: str,
        log_path: Path,
        env: dict[str, str],
        bin_dir: Path = BIN,
    ) -> None:
        self.runner, self.module, self.log_path = runner, module, log_path
        self.bin_dir = bin_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # Warnings are errors, as in pytest; gunicorn's workers leave their listening
        # socket to the garbage collector when they exit (a ResourceWarning).
        warnings = "error,ignore::ResourceWarning"
        self.env = {**os.environ, "PYTHONWARNINGS": warnings, **env}
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> ExampleApp:
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                command(self.runner, self.module, self.port, self.bin_dir),
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env,
                start_new_session=True,
            )
        try:
            self._wait_ready()
        except BaseException:
            self.__exit__()
            raise
        return self

    def _wait_ready(self) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.runner} exited:\n{self.log()}")
            try:
                requests.get(self.url + "/", timeout=10)
                return
            except requests.ConnectionError:
                time.sleep(0.05)
        raise TimeoutError(f"{self.runner} did not start:\n{self.log()}")

    def __exit__(self, *exc: Any) -> None:
        assert self.proc is not None
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def worker_pid(self) -> int:
        """The process that runs the views: gunicorn's (one) worker, or ``flask run`` itself."""
        assert self.proc is not None
        if self.runner == "flask":
            return self.proc.pid
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        return int(children.read_text().split()[0])


def serve(runner: str, module: str, tmp_path: Path, **env: str) -> Iterator[ExampleApp]:
    with ExampleApp(runner, module, tmp_path / f"{module}-{runner}.log", env) as app:
        yield app
