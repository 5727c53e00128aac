"""PUT and GET through blobstream on PostgreSQL and S3 against each store's own tool, one run.

PostgreSQL: a throwaway cluster with fsync on; the peer is ``psql``'s
``\\lo_import`` / ``\\lo_export`` against the same cluster. S3: a moto server on
loopback; the peer is boto3's ``upload_file`` / ``download_file`` (its default
TransferConfig: 8 MiB parts, 10 threads) against the same endpoint. moto takes
bodies far slower than a real store, so S3 uses 512 MiB. Rounds are
interleaved (the order rotates each round), medians are reported, and the
blobstream server's peak RSS is compared with a 16 MiB transfer. Run
``make bench-backends`` or ``.venv/bin/python -m bench.backends``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.services import S3_ENV, MotoServer, PostgresCluster, pg_bin

from bench.measure import MB, MiB, get, human, make_body, parse_size, put, settle
from bench.servers import REPO, Blobstream, PeakRss

Transfer = Callable[[], float]  # runs one transfer, returns its seconds


def wall(argv: list[str], **kwargs: Any) -> float:
    started = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True, **kwargs)
    return time.perf_counter() - started


class Backend:
    """One store, blobstream serving it, and the store's own tool."""

    name = ""
    size = 0

    def __init__(self, workdir: Path, body: Path) -> None:
        self.workdir = workdir
        self.body = body
        self.server: Blobstream | None = None

    def storage(self) -> str:
        raise NotImplementedError

    def start(self) -> None:
        self.server = Blobstream(self.workdir, self.storage(), label=f"blobstream-{self.name}")
        self.server.start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()

    def blob_put(self, key: str, body: Path) -> tuple[float, int]:
        assert self.server is not None
        with PeakRss(self.server.pid) as rss:
            ok, seconds = put(self.server, key, body)
        if not ok:
            raise RuntimeError(f"blobstream PUT {key} failed")
        return seconds, rss.peak

    def blob_get(self, key: str) -> tuple[float, int]:
        assert self.server is not None
        with PeakRss(self.server.pid) as rss:
            ok, seconds = get(self.server, key)
        if not ok:
            raise RuntimeError(f"blobstream GET {key} failed")
        return seconds, rss.peak

    def blob_delete(self, key: str) -> None:
        assert self.server is not None
        self.server.delete(key)

    def tool_put(self) -> tuple[float, str]:
        raise NotImplementedError

    def tool_get(self, handle: str) -> float:
        raise NotImplementedError

    def tool_delete(self, handle: str) -> None:
        raise NotImplementedError

    def close(self) -> None:
        self.stop()


class Postgres(Backend):
    name = "postgresql"
    tool = "psql \\lo_import / \\lo_export"

    def __init__(self, workdir: Path, body: Path) -> None:
        super().__init__(workdir, body)
        self.cluster = PostgresCluster(durable=True).start()
        self.db = self.cluster.new_database()

    def storage(self) -> str:
        return self.db

    def psql(self, *commands: str) -> tuple[float, str]:
        argv = [pg_bin("psql"), "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-d", self.db]
        for command in commands:
            argv += ["-c", command]
        started = time.perf_counter()
        done = subprocess.run(argv, check=True, capture_output=True, text=True)
        return time.perf_counter() - started, done.stdout.strip()

    def tool_put(self) -> tuple[float, str]:
        seconds, out = self.psql(f"\\lo_import '{self.body}'", "\\echo :LASTOID")
        return seconds, out.split()[-1]

    def tool_get(self, handle: str) -> float:
        return self.psql(f"\\lo_export {handle} '/dev/null'")[0]

    def tool_delete(self, handle: str) -> None:
        self.psql(f"\\lo_unlink {handle}")

    def close(self) -> None:
        super().close()
        self.cluster.destroy()


class S3(Backend):
    name = "s3"
    tool = "boto3 upload_file / download_file"

    def __init__(self, workdir: Path, body: Path) -> None:
        super().__init__(workdir, body)
        os.environ.update(S3_ENV)
        self.moto = MotoServer().start()
        self.bucket = self.moto.new_bucket()
        self.client = self.moto.client()

    def storage(self) -> str:
        return self.moto.url(self.bucket, "data")

    def tool_put(self) -> tuple[float, str]:
        key = f"tool/{uuid.uuid4().hex}"
        started = time.perf_counter()
        self.client.upload_file(str(self.body), self.bucket, key)
        return time.perf_counter() - started, key

    def tool_get(self, handle: str) -> float:
        started = time.perf_counter()
        self.client.download_file(self.bucket, handle, os.devnull)
        return time.perf_counter() - started

    def tool_delete(self, handle: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=handle)

    def close(self) -> None:
        super().close()
        self.moto.destroy()


def run_backend(backend: Backend, rounds: int) -> dict[str, Any]:
    """Interleaved rounds of PUT then GET by blobstream and by the tool; medians and RSS."""
    size = backend.body.stat().st_size
    small = make_body(16 * MiB, f"{backend.name}-small")
    backend.start()
    try:
        backend.blob_put("warm", small)  # first connections, imports, pools
        backend.blob_get("warm")
        small_put_rss = backend.blob_put("small", small)[1]
        small_get_rss = backend.blob_get("small")[1]
        times: dict[str, list[float]] = {"bs_put": [], "bs_get": [], "tool_put": [], "tool_get": []}
        rss = {"put": 0, "get": 0}
        for r in range(rounds):
            order = ["blobstream", "tool"] if r % 2 == 0 else ["tool", "blobstream"]
            key, handle = f"big-{r}", ""
            for who in order:
                settle()
                if who == "blobstream":
                    seconds, peak = backend.blob_put(key, backend.body)
                    times["bs_put"].append(seconds)
                    rss["put"] = max(rss["put"], peak)
                else:
                    seconds, handle = backend.tool_put()
                    times["tool_put"].append(seconds)
            for who in order:
                if who == "blobstream":
                    seconds, peak = backend.blob_get(key)
                    times["bs_get"].append(seconds)
                    rss["get"] = max(rss["get"], peak)
                else:
                    times["tool_get"].append(backend.tool_get(handle))
            backend.blob_delete(key)
            backend.tool_delete(handle)
            print(
                f"{backend.name} round {r + 1}: "
                + ", ".join(f"{k} {size / v[-1] / MB:.0f} MB/s" for k, v in times.items()),
                file=sys.stderr,
            )
    finally:
        backend.stop()
        small.unlink(missing_ok=True)
    median = {k: size / statistics.median(v) / MB for k, v in times.items()}
    return {
        "backend": backend.name,
        "tool": getattr(backend, "tool", ""),
        "size": size,
        "rounds": rounds,
        "mb_s": {k: round(v, 1) for k, v in median.items()},
        "ratio_put": round(median["bs_put"] / median["tool_put"], 2),
        "ratio_get": round(median["bs_get"] / median["tool_get"], 2),
        "rss_mib": {
            "put_16mib": round(small_put_rss / MiB, 1),
            "put_big": round(rss["put"] / MiB, 1),
            "get_16mib": round(small_get_rss / MiB, 1),
            "get_big": round(rss["get"] / MiB, 1),
        },
    }


def section(results: list[dict[str, Any]]) -> str:
    lines = [
        "## Storage backends",
        "",
        "`make bench-backends` (`bench/backends.py`): PUT (`curl -T`) and GET through",
        "`blobstream serve` on each backend against the store's own best tool on the same",
        "store in the same run; median of interleaved rounds (order rotated each round),",
        "MB/s. RSS is the blobstream server tree's peak during the transfer, against a",
        "16 MiB transfer. S3 is a moto server on loopback, a Python process far slower",
        "than a real store, so its body is 512 MiB; with staging (see `storage/s3.py`)",
        "blobstream's S3 PUT also pays one server-side copy inside the store.",
        "",
        "| backend | body | tool | PUT blobstream / tool | ratio | GET blobstream / tool "
        "| ratio | server RSS PUT (16 MiB → big) | GET (16 MiB → big) |",
        "|---|---|---|---|---:|---|---:|---|---|",
    ]
    for r in results:
        m, rss = r["mb_s"], r["rss_mib"]
        lines.append(
            f"| {r['backend']} | {human(r['size'])}iB | {r['tool']} "
            f"| {m['bs_put']:.0f} / {m['tool_put']:.0f} | {r['ratio_put']:.2f}× "
            f"| {m['bs_get']:.0f} / {m['tool_get']:.0f} | {r['ratio_get']:.2f}× "
            f"| {rss['put_16mib']:.0f} → {rss['put_big']:.0f} MiB "
            f"| {rss['get_16mib']:.0f} → {rss['get_big']:.0f} MiB |"
        )
    lines += [
        "",
        "Reading the figures:",
        "",
        "- PostgreSQL: both sides write large objects over the same protocol (`psql` in",
        "  libpq's 8 KiB `lo_write` calls, blobstream in 1 MiB `lowrite` calls inside one",
        "  transaction), so the ratio sits near 1×; the cluster fsyncs, as in production.",
        "- S3 PUT on moto misses the 0.8× target. boto3 sends parts and completes the",
        "  upload; blobstream does the same into a staging object and then pays the",
        "  server-side CopyObject that puts the blob on its key together with its SHA-256",
        "  (the first version paid the same copy onto the object itself, without the",
        "  atomicity). moto copies in Python: in one probe of 512 MiB, parts took 4.2 s,",
        "  CompleteMultipartUpload 2.8 s and the copy 4.5 s. On a real store the copy moves",
        "  no byte through the node, but it still takes the store time per GiB.",
        "- S3 GET: blobstream streams one GET; `download_file` splits the object into",
        "  8 MiB ranged GETs on 10 threads, which moto answers slowly, so that ratio says",
        "  more about moto than about either client.",
        "- RSS: the PostgreSQL server stays within a few MiB whatever the size. On S3 a",
        "  PUT holds up to part size × (parts in flight + 1) = 8 MiB × 5 per transfer, which",
        "  a 16 MiB body (two parts) does not reach: that bound, not the body size, is the",
        "  growth.",
    ]
    return "\n".join(lines) + "\n"


def write_docs(text: str) -> Path:
    """Replace or append the section in docs/BENCHMARKS.md, else docs/BENCHMARKS-backends.md."""
    main = REPO / "docs" / "BENCHMARKS.md"
    if not main.exists():
        own = REPO / "docs" / "BENCHMARKS-backends.md"
        own.write_text("# Benchmarks: storage backends\n" + text.split("\n", 1)[1])
        return own
    current = main.read_text()
    start = current.find("## Storage backends")
    if start < 0:
        main.write_text(current.rstrip("\n") + "\n\n" + text)
    else:
        end = current.find("\n## ", start + 1)
        rest = current[end + 1 :] if end >= 0 else ""
        main.write_text(current[:start] + text + ("\n" + rest if rest else ""))
    return main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg-size", default="2G", help="PostgreSQL body size (2G)")
    parser.add_argument("--s3-size", default="512M", help="S3 body size (512M: moto is slow)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", choices=["postgresql", "s3"])
    parser.add_argument("--no-docs", action="store_true", help="print, do not write docs/")
    args = parser.parse_args(argv)
    results = []
    with tempfile.TemporaryDirectory(prefix="blobstream-bench-backends-") as tmp:
        for cls, size in ((Postgres, args.pg_size), (S3, args.s3_size)):
            if args.only and cls.name != args.only:
                continue
            body = make_body(parse_size(size), f"backend-{cls.name}")
            backend = cls(Path(tmp), body)
            try:
                results.append(run_backend(backend, args.rounds))
            finally:
                backend.close()
                body.unlink(missing_ok=True)
    (REPO / "bench" / "work").mkdir(exist_ok=True)
    (REPO / "bench" / "work" / "backends.json").write_text(json.dumps(results, indent=2))
    text = section(results)
    print(text)
    if not args.no_docs:
        print(f"written to {write_docs(text).relative_to(REPO)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
