"""The servers under test, each a process tree on a loopback port with its data in a temp dir.

blobstream and the plain Flask baseline run from the project's ``.venv``; nginx is
the anchor; copyparty (``bench/.venv``) and ``@tus/server`` (``bench/node``) are peers.
Peak RSS is sampled from ``/proc`` for the whole process tree of each server.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterable
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
PROJECT_BIN = REPO / ".venv" / "bin"
BENCH_BIN = BENCH / ".venv" / "bin"
PAGE = os.sysconf("SC_PAGE_SIZE")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def nginx_binary() -> str:
    found = shutil.which("nginx") or "/usr/sbin/nginx"
    if not os.path.exists(found):
        raise SystemExit("nginx is missing: run `make bench` (it installs nginx from Debian)")
    return found


def tree_pids(root: int) -> list[int]:
    """The pids of ``root`` and all its descendants (one scan of /proc)."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(b")") + 2 :].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    pids, todo = [], [root]
    while todo:
        pid = todo.pop()
        pids.append(pid)
        todo.extend(children.get(pid, ()))
    return pids


def tree_cpu(pids: list[int]) -> float:
    """User plus system CPU seconds of these processes (their finished threads included)."""
    ticks = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rindex(b")") + 2 :].split()
        ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def tree_rss(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/statm", "rb") as f:
                total += int(f.read().split()[1]) * PAGE
        except OSError:
            pass
    return total


class PeakRss:
    """Samples the RSS of a process tree every 50 ms while the ``with`` block runs.

    It also records the CPU seconds the tree used meanwhile (:attr:`cpu`): on a
    shared machine that figure is steadier than wall-clock throughput.
    """

    def __init__(self, root: int, interval: float = 0.05) -> None:
        self.root = root
        self.interval = interval
        self.peak = 0
        self.cpu = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        pids, rescan = tree_pids(self.root), time.monotonic() + 1
        while True:
            self.peak = max(self.peak, tree_rss(pids))
            if self._stop.wait(self.interval):
                return
            if time.monotonic() > rescan:
                pids, rescan = tree_pids(self.root), time.monotonic() + 1

    def __enter__(self) -> PeakRss:
        self.cpu = -tree_cpu(tree_pids(self.root))
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        pids = tree_pids(self.root)
        self.peak = max(self.peak, tree_rss(pids))
        self.cpu += tree_cpu(pids)


class Server:
    """One server process (and its children) started in its own session."""

    name = "server"
    prefix = "/"

    def __init__(self, workdir: Path) -> None:
        self.dir = workdir / self.name
        self.data = self.dir / "data"
        self.data.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def command(self) -> list[str]:
        raise NotImplementedError

    def env(self) -> dict[str, str]:
        return dict(os.environ)

    def ready_path(self) -> str:
        return self.prefix

    def url(self, key: str) -> str:
        return f"{self.base}{self.prefix}{key}"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self) -> Server:
        with open(self.dir / "server.log", "ab") as log:
            self.proc = subprocess.Popen(
                self.command(),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=self.env(),
                cwd=self.dir,
                start_new_session=True,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                log_text = (self.dir / "server.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"{self.name} exited at start:\n{log_text}")
            try:
                with urllib.request.urlopen(self.base + self.ready_path(), timeout=2):
                    return self
            except urllib.error.HTTPError:
                return self  # it answers
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{self.name} did not answer within 60 s")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def delete(self, key: str) -> None:
        req = urllib.request.Request(self.url(key), method="DELETE")
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                r.read()
        except urllib.error.HTTPError as exc:
            exc.close()


class Blobstream(Server):
    name = "blobstream"
    prefix = "/blobs/"

    def __init__(self, workdir: Path, storage: str | None = None, label: str = "") -> None:
        if label:
            self.name = label
        super().__init__(workdir)
        self.storage = storage or self.data.as_uri()

    def command(self) -> list[str]:
        return [str(PROJECT_BIN / "blobstream"), "serve", "--storage", self.storage,
                "--port", str(self.port)]  # fmt: skip

    def ready_path(self) -> str:
        return "/healthz"


class Nginx(Server):
    name = "nginx"

    def command(self) -> list[str]:
        template = (BENCH / "nginx.conf.template").read_text()
        conf = self.dir / "nginx.conf"
        conf.write_text(template.format(prefix=self.dir, port=self.port, root=self.data))
        return [nginx_binary(), "-p", str(self.dir), "-c", str(conf), "-e", "stderr"]

    def delete(self, key: str) -> None:
        (self.data / key).unlink(missing_ok=True)


class FlaskBaseline(Server):
    """``bench/flask_baseline.py`` on gunicorn gthread with blobstream's defaults.

    Same workers, threads, timeouts and one access-log line per request as
    ``blobstream serve`` (see ``blobstream.server.launcher``), so only the app differs.
    """

    name = "flask"
    prefix = "/f/"

    def command(self) -> list[str]:
        return [str(PROJECT_BIN / "gunicorn"), "--worker-class", "gthread", "--workers", "2",
                "--threads", "16", "--timeout", "120", "--keep-alive", "5",
                "--graceful-timeout", "30", "--access-logfile", "-", "--error-logfile", "-",
                "--access-logformat", '%(h)s "%(r)s" %(s)s %(B)s %(D)sus',
                "--bind", f"127.0.0.1:{self.port}", "--chdir", str(BENCH),
                "flask_baseline:app"]  # fmt: skip

    def env(self) -> dict[str, str]:
        return {**os.environ, "BASELINE_ROOT": str(self.data)}

    def delete(self, key: str) -> None:
        (self.data / key).unlink(missing_ok=True)


class DurableFlaskBaseline(FlaskBaseline):
    """The same app with ``BASELINE_FSYNC=1``: its PUT is durable before it answers."""

    name = "flask-fsync"

    def env(self) -> dict[str, str]:
        return {**super().env(), "BASELINE_FSYNC": "1"}


class Copyparty(Server):
    """copyparty with its defaults (PUT hashes the body with SHA-512), one rw volume."""

    name = "copyparty"

    def command(self) -> list[str]:
        return [str(BENCH_BIN / "copyparty"), "-i", "127.0.0.1", "-p", str(self.port),
                "-v", f"{self.data}::rw", "-q", "--no-robots"]  # fmt: skip

    def delete(self, key: str) -> None:
        (self.data / key).unlink(missing_ok=True)


class TusNode(Server):
    """``@tus/server`` with ``@tus/file-store`` (bench/node/server.mjs) at ``/files/``."""

    name = "tus-node"
    prefix = "/files/"

    def command(self) -> list[str]:
        node = shutil.which("node") or "node"
        return [node, str(BENCH / "node" / "server.mjs"), str(self.port), str(self.data)]


def stop_all(servers: Iterable[Server], workdir: Path) -> None:
    """Stop every server, remove the run's directory and this process's bodies in /dev/shm."""
    from bench.measure import SHM

    for server in servers:
        server.stop()
    shutil.rmtree(workdir, ignore_errors=True)
    for body in SHM.glob(f"blobstream-bench-{os.getpid()}-*"):
        body.unlink()
