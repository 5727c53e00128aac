"""One timed transfer with the client that keeps up (curl, wrk), and the results they make."""

from __future__ import annotations

import os
import re
import subprocess
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench.servers import BENCH, PeakRss, Server

MB = 1_000_000
MiB = 1 << 20
SHM = Path("/dev/shm")
_SIZE = re.compile(r"^(\d+(?:\.\d+)?)([KMGT]?)i?B?$", re.IGNORECASE)


def parse_size(text: str) -> int:
    match = _SIZE.match(text.strip())
    if not match:
        raise ValueError(f"not a size: {text!r} (e.g. 4G, 256M)")
    number, unit = match.groups()
    return int(float(number) * (1 << (10 * " KMGT".index(unit.upper() or " "))))


def human(size: int) -> str:
    for unit, shift in (("G", 30), ("M", 20), ("K", 10)):
        if size >= 1 << shift and size % (1 << shift) == 0:
            return f"{size >> shift}{unit}"
    return str(size)


@dataclass
class Result:
    """One measurement: ``value`` in ``unit`` (higher is better unless the unit is a time)."""

    scenario: str
    server: str
    value: float
    unit: str = "MB/s"
    round: int = 0
    rss: int = 0
    ok: bool = True
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def make_body(size: int, name: str) -> Path:
    """A body of ``size`` random-looking bytes in memory (/dev/shm), so reading it is free."""
    path = SHM / f"blobstream-bench-{os.getpid()}-{name}"
    if path.exists() and path.stat().st_size == size:
        return path
    block = os.urandom(64 * MiB)
    with open(path, "wb") as f:
        left = size
        while left > 0:
            f.write(block[: min(left, len(block))])
            left -= len(block)
    return path


def settle() -> None:
    """Flush dirty pages so one server's writeback is not billed to the next.

    Writing and freeing the next PUT's size of memory first was tried, to spare the
    first server of a round the cost of faulting in pages the guest had not used
    lately (~2.5 ms per MiB on this VM). Freed memory goes back to the hypervisor at
    once here, so it made every server's next PUT fault in fresh pages instead: a
    4 GiB PUT cost blobstream 2.41 CPU s/GB with it and 1.34 without, nginx 2.08 and
    0.69, the ratio about the same. Rotating the order of each round keeps it fair.
    """
    os.sync()


CURL = ["curl", "-sS", "-o", "/dev/null", "-H", "Expect:", "-w", "%{http_code} %{time_total}"]


def _curl(args: list[str], stdin: Any = None) -> tuple[int, float]:
    done = subprocess.run(CURL + args, stdin=stdin, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        return 0, 0.0
    code, seconds = done.stdout.split()
    return int(code), float(seconds)


def put(server: Server, key: str, body: Path, *, chunked: bool = False) -> tuple[bool, float]:
    """PUT ``body``: ``curl -T file`` (Content-Length) or ``curl -T - < file`` (chunked)."""
    if chunked:
        with open(body, "rb") as f:
            code, seconds = _curl(["-T", "-", server.url(key)], stdin=f)
    else:
        code, seconds = _curl(["-T", str(body), server.url(key)])
    return 200 <= code < 300, seconds


def get(server: Server, key: str) -> tuple[bool, float]:
    code, seconds = _curl([server.url(key)])
    return code == 200, seconds


def timed(
    server: Server, action: Any, *args: Any, **kwargs: Any
) -> tuple[bool, float, int, dict[str, float]]:
    """Run one transfer while sampling the server tree: (ok, seconds, peak RSS, CPU figures)."""
    with PeakRss(server.pid) as rss:
        ok, seconds = action(server, *args, **kwargs)
    return ok, seconds, rss.peak, {"cpu_s": round(rss.cpu, 2), "wall_s": round(seconds, 3)}


def wrk(
    server: Server,
    url: str,
    seconds: int,
    connections: int,
    script: str | None,
    env: dict[str, str],
) -> dict[str, float]:
    """Run wrk against ``url``; requests/s, bytes/s and non-2xx count from its summary."""
    cmd = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency"]
    if script:
        cmd += ["-s", str(BENCH / "lua" / script)]
    started = time.monotonic()
    with PeakRss(server.pid) as rss:
        out = subprocess.run(
            [*cmd, url], capture_output=True, text=True, env={**os.environ, **env}, check=False
        ).stdout
    reqs = re.search(r"Requests/sec:\s+([\d.]+)", out)
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    p50 = re.search(r"50%\s+([\d.]+)(us|ms|s)\b", out)
    scale = {"us": 1e-3, "ms": 1.0, "s": 1e3}
    return {
        "rps": float(reqs.group(1)) if reqs else 0.0,
        "errors": float(errors.group(1) if errors else 0)
        + (sum(int(x) for x in sock.groups()) if sock else 0),
        "p50_ms": float(p50.group(1)) * scale[p50.group(2)] if p50 else 0.0,
        "rss": float(rss.peak),
        "cpu_s": round(rss.cpu, 2),
        "wall": time.monotonic() - started,
    }
