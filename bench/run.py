"""``make bench``: run the scenarios against blobstream, nginx and the peers; write the report.

Settings come from the environment (sizes like ``4G``, ``256M``):

- ``BENCH_SIZE`` (4G): the large body of PUT/GET and ranged GETs.
- ``BENCH_SIZES`` (1M,16M,256M): smaller bodies for the throughput-vs-size curve.
- ``BENCH_ROUNDS`` (3): rounds per scenario; medians are reported.
- ``BENCH_CONCURRENCY`` (2,8,32,64) and ``BENCH_CONC_SIZE`` (64M): mixed concurrent transfers.
- ``BENCH_WRK_SECONDS`` (5): duration of each wrk run (small blobs, ranges).
- ``BENCH_KEYS`` (1000000): keys in the index for listing and PUT latency.
- ``BENCH_MEM_SIZE`` (BENCH_SIZE; 16G to check the promise): the large body of the memory test.
- ``BENCH_TUS_SIZE`` (1G): the body of one tus PATCH.
- ``BENCH_SCENARIOS``: a comma list to run only some (large, ranges, sizes, concurrency,
  small, memory, listing, tus, webdav).
- ``BENCH_EXTRA_STORAGE``: more storage URLs for blobstream in ``large`` (postgresql://, s3://).
- ``BENCH_OUT`` (docs): where BENCHMARKS.md and bench/*.png go.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import report
from bench.measure import SHM, parse_size
from bench.scenarios import SCENARIOS, Bench, Config, run
from bench.servers import (
    BENCH,
    REPO,
    Blobstream,
    Copyparty,
    DurableFlaskBaseline,
    FlaskBaseline,
    Nginx,
    Server,
    TusNode,
    stop_all,
)


def _env(name: str, default: str) -> str:
    return os.environ.get(name) or default


def config_from_env() -> Config:
    size = parse_size(_env("BENCH_SIZE", "4G"))
    return Config(
        size=size,
        sizes=[parse_size(s) for s in _env("BENCH_SIZES", "1M,16M,256M").split(",")],
        rounds=int(_env("BENCH_ROUNDS", "3")),
        concurrency=[int(n) for n in _env("BENCH_CONCURRENCY", "2,8,32,64").split(",")],
        conc_size=parse_size(_env("BENCH_CONC_SIZE", "64M")),
        wrk_seconds=int(_env("BENCH_WRK_SECONDS", "5")),
        keys=int(_env("BENCH_KEYS", "1000000")),
        mem_size=parse_size(_env("BENCH_MEM_SIZE", str(size))),
        tus_size=parse_size(_env("BENCH_TUS_SIZE", "1G")),
        range_bytes=parse_size(_env("BENCH_RANGE_BYTES", "1M")),
        extra_storage=[u for u in _env("BENCH_EXTRA_STORAGE", "").split(",") if u],
    )


def _out(cmd: list[str]) -> str:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        return "?"


def machine() -> dict[str, str]:
    free = _out(["free", "-h"]).splitlines()
    mem = free[1].split()[1] if len(free) > 1 else "?"
    nginx = (
        _out(["nginx", "-v"])
        or subprocess.run(
            ["nginx", "-v"], capture_output=True, text=True, check=False
        ).stderr.strip()
    )
    return {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"`nproc` {os.cpu_count()}, `free -h` total {mem}, kernel {platform.release()}",
        "cpu": _cpu_model(),
        "software": f"Python {platform.python_version()}, {nginx}, curl "
        f"{_out(['curl', '--version']).split()[1]}, node {_out(['node', '--version'])}",
        "commit": _out(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"]),
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "?"


def main() -> int:
    cfg = config_from_env()
    names = [n for n in _env("BENCH_SCENARIOS", ",".join(SCENARIOS)).split(",") if n]
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        print(f"unknown scenarios: {unknown}; known: {list(SCENARIOS)}", file=sys.stderr)
        return 2
    need = cfg.size * 2 + max(cfg.sizes) + cfg.conc_size + cfg.tus_size
    if shutil.disk_usage(SHM).free < need:
        print(f"/dev/shm needs {need >> 20} MiB free for the bodies", file=sys.stderr)
        return 2
    # The servers' data and temp dirs share one filesystem (not tmpfs), like a real deployment.
    (BENCH / "work").mkdir(exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="run-", dir=BENCH / "work"))
    servers: dict[str, Server] = {
        "blobstream": Blobstream(workdir),
        "nginx": Nginx(workdir),
        "flask": FlaskBaseline(workdir),
        "flask-fsync": DurableFlaskBaseline(workdir),
        "copyparty": Copyparty(workdir),
        "tus-node": TusNode(workdir),
    }
    # The local backend with O_DIRECT uploads beside the default, on large bodies.
    direct = Blobstream(workdir, label="bs-direct")
    direct.storage += "?direct=1"
    servers[direct.name] = direct
    for url in cfg.extra_storage:
        label = "bs-" + url.split(":", 1)[0]
        servers[label] = Blobstream(workdir, storage=url, label=label)
    bench = Bench(cfg, workdir, servers)
    started = time.monotonic()
    try:
        for server in servers.values():
            server.start()
            print(f"started {server.name} on {server.base} (pid {server.pid})", flush=True)
        run(bench, names)
    finally:
        stop_all(servers.values(), workdir)
    results = [r.to_json() for r in bench.results]
    meta = machine()
    settings = {k: v for k, v in os.environ.items() if k.startswith("BENCH_")}
    prefix = " ".join(f"{k}={v}" for k, v in sorted(settings.items()))
    meta = {"command": f"{prefix + ' ' if prefix else ''}make bench", **meta}
    meta["duration"] = f"{(time.monotonic() - started) / 60:.1f} min"
    meta["settings"] = json.dumps(cfg.__dict__ | {"scenarios": names})
    docs = REPO / _env("BENCH_OUT", "docs")
    (BENCH / "results.json").write_text(json.dumps({"meta": meta, "results": results}, indent=1))
    out = report.write(results, meta, docs, BENCH / "ANALYSIS.md")
    print(f"wrote {out} and {BENCH / 'results.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
