"""The scenarios: each runs every server it compares, interleaved, order rotated every round."""

from __future__ import annotations

import base64
import http.client
import json
import sqlite3
import statistics
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from bench.measure import (
    CURL,
    MB,
    MiB,
    Result,
    get,
    human,
    make_body,
    put,
    settle,
    timed,
    wrk,
)
from bench.servers import Blobstream, PeakRss, Server
from bench.webdav import webdav


@dataclass
class Config:
    size: int
    sizes: list[int]
    rounds: int
    concurrency: list[int]
    conc_size: int
    wrk_seconds: int
    keys: int
    mem_size: int
    tus_size: int
    range_bytes: int
    extra_storage: list[str]


@dataclass
class Bench:
    config: Config
    workdir: Path
    servers: dict[str, Server]
    results: list[Result] = field(default_factory=list)
    log: Callable[[str], None] = print
    run_id: str = field(default_factory=lambda: str(int(time.time())))

    def rotated(self, names: list[str], rnd: int) -> Iterator[Server]:
        names = [n for n in names if n in self.servers]
        k = rnd % len(names)
        for name in names[k:] + names[:k]:
            yield self.servers[name]

    def add(self, result: Result) -> None:
        self.results.append(result)
        flag = "" if result.ok else "  FAILED"
        self.log(
            f"  {result.scenario:<22} {result.server:<12} r{result.round} "
            f"{result.value:10.1f} {result.unit:<6} rss {result.rss / MiB:6.1f} MiB{flag}"
        )


def _rate(size: int, seconds: float) -> float:
    return size / seconds / MB if seconds > 0 else 0.0


# -- large bodies: PUT with Content-Length and chunked, GET -------------------------


def large(b: Bench) -> None:
    """PUT CL, PUT chunked and GET of one large body; fresh keys, sync before each PUT."""
    size = b.config.size
    body = make_body(size, f"large-{human(size)}")
    names = ["blobstream", "nginx", "copyparty", *[s for s in b.servers if s.startswith("bs-")]]
    chunked_names = ["blobstream", "nginx", *[s for s in b.servers if s.startswith("bs-")]]
    warm = make_body(64 * MiB, "warm")
    for server in b.rotated(names, 0):  # warm-up: first requests, page cache, imports
        put(server, "warmup", warm)
        get(server, "warmup")
        server.delete("warmup")
    held: dict[str, str] = {}
    tag = f"@{human(size)}"
    for rnd in range(b.config.rounds):
        b.log(f"large round {rnd + 1}/{b.config.rounds}")
        for server in b.rotated(names, rnd):
            if server.name in held:
                server.delete(held.pop(server.name))
            settle()
            key = f"large/{b.run_id}-{rnd}-cl"
            ok, seconds, rss, cpu = timed(server, put, key, body)
            b.add(
                Result(
                    "put-cl" + tag,
                    server.name,
                    _rate(size, seconds),
                    round=rnd,
                    rss=rss,
                    ok=ok,
                    extra=cpu,
                )
            )
            held[server.name] = key
        for server in b.rotated(chunked_names, rnd):
            server.delete(held.pop(server.name))
            settle()
            key = f"large/{b.run_id}-{rnd}-chunked"
            ok, seconds, rss, cpu = timed(server, put, key, body, chunked=True)
            b.add(
                Result(
                    "put-chunked" + tag,
                    server.name,
                    _rate(size, seconds),
                    round=rnd,
                    rss=rss,
                    ok=ok,
                    extra=cpu,
                )
            )
            held[server.name] = key
        for server in b.rotated(names, rnd):
            ok, seconds, rss, cpu = timed(server, get, held[server.name])
            b.add(
                Result(
                    "get" + tag,
                    server.name,
                    _rate(size, seconds),
                    round=rnd,
                    rss=rss,
                    ok=ok,
                    extra=cpu,
                )
            )
    b.held_large = held  # type: ignore[attr-defined]


# -- ranged GETs at random offsets ----------------------------------------------------


def ranges(b: Bench) -> None:
    """wrk GETs of random ``range_bytes`` ranges of the large blob (a video player seeking)."""
    held: dict[str, str] = getattr(b, "held_large", {})
    span = b.config.range_bytes
    env = {"BENCH_RANGE_SIZE": str(b.config.size), "BENCH_RANGE_BYTES": str(span)}
    for rnd in range(b.config.rounds):
        for server in b.rotated(["blobstream", "nginx"], rnd):
            out = wrk(
                server, server.url(held[server.name]), b.config.wrk_seconds, 4, "range.lua", env
            )
            b.add(
                Result(
                    f"range-get@{human(span)}",
                    server.name,
                    out["rps"] * span / MB,
                    round=rnd,
                    rss=int(out["rss"]),
                    ok=out["errors"] == 0 and out["rps"] > 0,
                    extra=out,
                )
            )


# -- throughput against body size -----------------------------------------------------


def sizes(b: Bench) -> None:
    """PUT (Content-Length) and GET at several sizes: the curve of throughput vs size."""
    for size in b.config.sizes:
        body = make_body(size, f"size-{human(size)}")
        for rnd in range(b.config.rounds):
            for server in b.rotated(["blobstream", "nginx"], rnd):
                key = f"sizes/{b.run_id}-{human(size)}-{rnd}"
                settle()
                ok, seconds, rss, cpu = timed(server, put, key, body)
                b.add(Result(f"put-cl@{human(size)}", server.name, _rate(size, seconds),
                             round=rnd, rss=rss, ok=ok, extra=cpu))  # fmt: skip
                ok, seconds, rss, cpu = timed(server, get, key)
                b.add(Result(f"get@{human(size)}", server.name, _rate(size, seconds),
                             round=rnd, rss=rss, ok=ok, extra=cpu))  # fmt: skip
                server.delete(key)


# -- concurrent mixed transfers -------------------------------------------------------


def _concurrent(server: Server, n: int, body: Path, size: int, tag: str) -> tuple[float, int, int]:
    """n transfers at once, half GETs of stored blobs, half PUTs: (seconds, errors, peak RSS)."""
    procs: list[tuple[subprocess.Popen[str], int]] = []
    gets = n // 2
    with PeakRss(server.pid) as rss:
        started = time.monotonic()
        for i in range(n):
            if i < gets:
                args = [server.url(f"conc/get-{i}")]
                want = 200
            else:
                args = ["-T", str(body), server.url(f"conc/{tag}-{i}")]
                want = 0
            proc = subprocess.Popen(CURL + args, stdout=subprocess.PIPE, text=True)
            procs.append((proc, want))
        errors = 0
        for proc, want in procs:
            out, _ = proc.communicate()
            code = int(out.split()[0]) if proc.returncode == 0 and out else 0
            good = code == want if want else 200 <= code < 300
            errors += not good
        seconds = time.monotonic() - started
    for i in range(gets, n):
        server.delete(f"conc/{tag}-{i}")
    return seconds, errors, rss.peak


def concurrency(b: Bench) -> None:
    size = b.config.conc_size
    body = make_body(size, f"conc-{human(size)}")
    most_gets = max(b.config.concurrency) // 2
    for server in b.rotated(["blobstream", "nginx"], 0):
        for i in range(most_gets):
            put(server, f"conc/get-{i}", body)
    for n in b.config.concurrency:
        for rnd in range(b.config.rounds):
            for server in b.rotated(["blobstream", "nginx"], rnd):
                settle()
                seconds, errors, rss = _concurrent(server, n, body, size, f"{b.run_id}-{n}-{rnd}")
                b.add(Result(f"concurrent-{n}x{human(size)}", server.name,
                             _rate(n * size, seconds), round=rnd, rss=rss, ok=errors == 0,
                             extra={"errors": errors, "n": n}))  # fmt: skip
    for server in b.rotated(["blobstream", "nginx"], 0):
        for i in range(most_gets):
            server.delete(f"conc/get-{i}")


# -- small blobs: requests per second with wrk ---------------------------------------


def small(b: Bench) -> None:
    names = ["blobstream", "nginx", "flask"]
    body = make_body(4096, "small")
    for server in b.rotated(names, 0):
        put(server, "small/one", body)
    for rnd in range(b.config.rounds):
        for server in b.rotated(names, rnd):
            out = wrk(server, server.url("small/one"), b.config.wrk_seconds, 16, None, {})
            b.add(Result("small-get@4K", server.name, out["rps"], "req/s", rnd,
                         int(out["rss"]), out["errors"] == 0, out))  # fmt: skip
        for server in b.rotated([*names, "flask-fsync"], rnd):
            env = {"BENCH_RUN_ID": f"{b.run_id}-{rnd}", "BENCH_SMALL_BYTES": "4096"}
            out = wrk(server, server.url("small/"), b.config.wrk_seconds, 16, "put.lua", env)
            b.add(Result("small-put@4K", server.name, out["rps"], "req/s", rnd,
                         int(out["rss"]), out["errors"] == 0, out))  # fmt: skip


# -- memory: peak RSS for a small and a large body ---------------------------------


def _stream_put(server: Server, key: str, size: int) -> tuple[bool, float]:
    """PUT ``size`` zero bytes from a pipe (chunked), so no body file is needed."""
    head = subprocess.Popen(["head", "-c", str(size), "/dev/zero"], stdout=subprocess.PIPE)
    try:
        done = subprocess.run(
            [*CURL, "-T", "-", server.url(key)], stdin=head.stdout, capture_output=True, text=True
        )
    finally:
        assert head.stdout is not None
        head.stdout.close()
        head.wait()
    code, seconds = done.stdout.split() if done.returncode == 0 else ("0", "0")
    return 200 <= int(code) < 300, float(seconds)


def memory(b: Bench) -> None:
    """Fresh servers: peak RSS of PUT then GET of 16 MiB, then of ``mem_size`` (4 GiB+)."""
    fresh = {
        "blobstream": Blobstream(b.workdir, label="blobstream-mem"),
        "nginx": type(b.servers["nginx"])(b.workdir / "mem"),
    }
    try:
        for server in fresh.values():
            server.start()
        for size in (16 * MiB, b.config.mem_size):
            for name, server in fresh.items():
                key = f"mem/{human(size)}"
                settle()
                ok, seconds, rss, cpu = timed(server, _stream_put, key, size)
                b.add(Result(f"memory-put@{human(size)}", name, rss / MiB, "MiB", rss=rss, ok=ok,
                             extra={"MB/s": _rate(size, seconds), **cpu}))  # fmt: skip
                ok, seconds, rss, cpu = timed(server, get, key)
                b.add(Result(f"memory-get@{human(size)}", name, rss / MiB, "MiB", rss=rss, ok=ok,
                             extra={"MB/s": _rate(size, seconds), **cpu}))  # fmt: skip
                server.delete(key)
    finally:
        for server in fresh.values():
            server.stop()


# -- listing many keys page by page; PUT latency as the index grows -----------------


def _seed_index(index: Path, start: int, stop: int) -> None:
    """Insert index rows for ``seed/NNNNNNNN`` keys directly (their data files are absent)."""
    db = sqlite3.connect(index, timeout=60)
    try:
        with db:
            db.executemany(
                "INSERT OR IGNORE INTO blobs (key, file, size, etag, sha256, content_type, mtime)"
                " VALUES (?, ?, 4096, ?, ?, 'application/octet-stream', ?)",
                (
                    (f"seed/{i:08d}".encode(), f"seed{i:028x}", f"seed{i:028x}", "0" * 64, 0.0)
                    for i in range(start, stop)
                ),
            )
    finally:
        db.close()


def _put_latency(server: Server, tag: str, count: int = 200) -> float:
    """Median seconds of ``count`` sequential 4 KiB PUTs on one keep-alive connection."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    body = b"x" * 4096
    times = []
    try:
        for i in range(count):
            started = time.perf_counter()
            conn.request("PUT", f"/blobs/latency/{tag}-{i:05d}", body)
            with conn.getresponse() as r:
                r.read()
                assert r.status in (200, 201), r.status
            times.append(time.perf_counter() - started)
    finally:
        conn.close()
    return statistics.median(times)


def _list_all(server: Server, prefix: str, limit: int) -> tuple[int, int, float]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    keys = pages = 0
    after = ""
    started = time.perf_counter()
    try:
        while True:
            query = f"/blobs?prefix={prefix}&limit={limit}" + (f"&after={after}" if after else "")
            conn.request("GET", query)
            with conn.getresponse() as r:
                page = json.loads(r.read())
            keys += len(page["blobs"])
            pages += 1
            if not page["next"]:
                break
            after = urllib.request.quote(page["next"], safe="")
    finally:
        conn.close()
    return keys, pages, time.perf_counter() - started


def listing(b: Bench) -> None:
    server = Blobstream(b.workdir, label="blobstream-index")
    server.start()
    index = server.data / "index.sqlite3"
    try:
        _seed_index(index, 0, 1000)
        _put_latency(server, "warmup", 50)  # first requests: imports, connections, caches
        small_ms = _put_latency(server, "1k") * 1000
        _seed_index(index, 1000, b.config.keys)
        big_ms = _put_latency(server, "big") * 1000
        b.add(Result("put-latency@1k-keys", "blobstream", small_ms, "ms"))
        b.add(Result(f"put-latency@{b.config.keys}-keys", "blobstream", big_ms, "ms"))
        for rnd in range(1):  # one pass: no peer to interleave with, and it is long
            with PeakRss(server.pid) as rss:
                keys, pages, seconds = _list_all(server, "seed/", 1000)
            b.add(Result(f"list-{b.config.keys}-keys", "blobstream", keys / seconds, "keys/s",
                         rnd, rss.peak, keys == b.config.keys,
                         {"pages": pages, "seconds": seconds}))  # fmt: skip
    finally:
        server.stop()


# -- tus PATCH throughput -----------------------------------------------------------


def _tus_create(base: str, path: str, size: int, key: str) -> str:
    meta = "key " + base64.b64encode(key.encode()).decode()
    req = urllib.request.Request(
        base + path,
        method="POST",
        headers={"Tus-Resumable": "1.0.0", "Upload-Length": str(size), "Upload-Metadata": meta},
    )
    with urllib.request.urlopen(req, timeout=60) as r:
        location: str = r.headers["Location"]
    return location if location.startswith("http") else base + location


def _tus_patch(server: Server, location: str, body: Path) -> tuple[bool, float]:
    args = ["-X", "PATCH", "-H", "Tus-Resumable: 1.0.0", "-H", "Upload-Offset: 0", "-H",
            "Content-Type: application/offset+octet-stream", "-T", str(body), location]  # fmt: skip
    done = subprocess.run(CURL + args, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        return False, 0.0
    code, seconds = done.stdout.split()
    return code == "204", float(seconds)


def has_tus(server: Server) -> bool:
    req = urllib.request.Request(server.base + "/uploads", method="OPTIONS")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return "Tus-Version" in r.headers
    except OSError:
        return False


def tus(b: Bench) -> None:
    paths = {"blobstream": "/uploads", "tus-node": "/files/"}
    names = [n for n in paths if n in b.servers and (n != "blobstream" or has_tus(b.servers[n]))]
    if "blobstream" not in names:
        b.log("tus: blobstream has no /uploads yet; measuring @tus/server alone")
    size = b.config.tus_size
    body = make_body(size, f"tus-{human(size)}")
    for rnd in range(b.config.rounds):
        for server in b.rotated(names, rnd):
            settle()
            location = _tus_create(server.base, paths[server.name], size, f"tus/{b.run_id}-{rnd}")
            ok, seconds, rss, cpu = timed(server, _tus_patch, location, body)
            b.add(Result(f"tus-patch@{human(size)}", server.name, _rate(size, seconds),
                         round=rnd, rss=rss, ok=ok, extra=cpu))  # fmt: skip
            if server.name == "blobstream":
                server.delete(f"tus/{b.run_id}-{rnd}")


# Backends other than the local one (PostgreSQL, S3) join `large` through
# BENCH_EXTRA_STORAGE="postgresql://…,s3://…": each URL becomes a server "bs-<scheme>".
# Their comparison against their own tools (psql lo_import/lo_export, boto3's
# transfers) is `make bench-backends` (bench/backends.py).
SCENARIOS: dict[str, Callable[[Bench], None]] = {
    "large": large,
    "ranges": ranges,
    "sizes": sizes,
    "concurrency": concurrency,
    "small": small,
    "memory": memory,
    "listing": listing,
    "tus": tus,
    "webdav": webdav,
}


def run(b: Bench, names: list[str]) -> None:
    for name in names:
        b.log(f"== {name}")
        started = time.monotonic()
        SCENARIOS[name](b)
        b.log(f"== {name} took {time.monotonic() - started:.0f} s")
