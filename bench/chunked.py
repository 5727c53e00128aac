"""Large PUT, chunked and with Content-Length, against nginx; ``blobstream put`` against curl.

A focused run of the two transfers issue 10 measures for the body reader and the
client: one blobstream and one nginx, interleaved, order rotated every round,
fresh keys and ``sync`` before every timed PUT, the body in ``/dev/shm``. It
prints medians and the same-run ratios, and writes nothing to ``docs/``::

    BENCH_SIZE=1G BENCH_ROUNDS=3 .venv/bin/python -m bench.chunked

``BENCH_PARTS`` picks ``put`` (PUT vs nginx), ``cli`` (``blobstream put`` vs
``curl -T`` to the same blobstream) or both (the default, ``put,cli``).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.measure import MB, human, make_body, parse_size, put, settle, timed
from bench.servers import BENCH, PROJECT_BIN, Blobstream, Nginx, Server, stop_all


def cli_put(server: Server, key: str, body: Path) -> tuple[bool, float]:
    """``blobstream put FILE KEY``: the project's own client, end-to-end verified."""
    started = time.monotonic()
    done = subprocess.run(
        [str(PROJECT_BIN / "blobstream"), "put", str(body), key, "--url", server.base, "-q"],
        capture_output=True,
        check=False,
    )
    return done.returncode == 0, time.monotonic() - started


def _report(rows: dict[tuple[str, str], list[tuple[float, float]]], size: int) -> None:
    print(f"\n{'transfer':<24} {'server/client':<14} {'MB/s (median)':>14} {'CPU s/GB':>9}  rounds")
    for (what, who), runs in rows.items():
        rates = [size / s / MB for s, _ in runs if s > 0]
        cpu = statistics.median(c for _, c in runs) / (size / 1e9)
        print(
            f"{what:<24} {who:<14} {statistics.median(rates):14,.0f} {cpu:9.2f}  "
            + ", ".join(f"{r:,.0f}" for r in rates)
        )


def _ratio(rows: dict[tuple[str, str], list[tuple[float, float]]], a: tuple[str, str],
           b: tuple[str, str]) -> float:  # fmt: skip
    ta = statistics.median(s for s, _ in rows[a])
    tb = statistics.median(s for s, _ in rows[b])
    return tb / ta


def main() -> int:
    size = parse_size(os.environ.get("BENCH_SIZE") or "1G")
    rounds = int(os.environ.get("BENCH_ROUNDS") or "3")
    parts = (os.environ.get("BENCH_PARTS") or "put,cli").split(",")
    (BENCH / "work").mkdir(exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="chunked-", dir=BENCH / "work"))
    servers: dict[str, Server] = {"blobstream": Blobstream(workdir), "nginx": Nginx(workdir)}
    rows: dict[tuple[str, str], list[tuple[float, float]]] = {}
    body = make_body(size, f"chunked-{human(size)}")
    warm = make_body(64 << 20, "chunked-warm")
    run_id = str(int(time.time()))
    try:
        for server in servers.values():
            server.start()
        for server in servers.values():
            put(server, "warmup", warm)
            put(server, "warmup", warm, chunked=True)
            server.delete("warmup")
        held: dict[str, str] = {}

        def one(what: str, who: str, server: Server, action: object, **kw: object) -> None:
            if server.name in held:
                server.delete(held.pop(server.name))
            settle()
            tag = who.replace(" ", "_")
            key = f"bench/{run_id}-{len(rows.get((what, who), []))}-{what}-{tag}"
            ok, seconds, _, cpu = timed(server, action, key, body, **kw)
            if not ok:
                raise SystemExit(f"{what} on {who} failed")
            rows.setdefault((what, who), []).append((seconds, cpu["cpu_s"]))
            held[server.name] = key
            print(f"  {what:<22} {who:<12} {size / seconds / MB:8.0f} MB/s", flush=True)

        order = list(servers)
        for rnd in range(rounds):
            print(f"round {rnd + 1}/{rounds}", flush=True)
            names = order[rnd % 2 :] + order[: rnd % 2]
            if "put" in parts:
                for name in names:
                    one("put-cl", name, servers[name], put)
                for name in names:
                    one("put-chunked", name, servers[name], put, chunked=True)
            if "cli" in parts:
                bs = servers["blobstream"]
                tools = [("curl -T", put), ("blobstream put", cli_put)]
                for who, action in tools if rnd % 2 == 0 else tools[::-1]:
                    one("cli-put", who, bs, action)
    finally:
        stop_all(servers.values(), workdir)
    _report(rows, size)
    print()
    for what in ("put-cl", "put-chunked"):
        if (what, "nginx") in rows:
            r = _ratio(rows, (what, "blobstream"), (what, "nginx"))
            print(f"{what}@{human(size)}: blobstream / nginx = {r:.2f}x (median times)")
    if ("cli-put", "curl -T") in rows:
        r = _ratio(rows, ("cli-put", "blobstream put"), ("cli-put", "curl -T"))
        print(f"cli-put@{human(size)}: blobstream put / curl -T = {r:.2f}x (median times)")
    return 0


__all__ = ["main"]

if __name__ == "__main__":
    sys.exit(main())
