"""``make stress``: the long runs of the hardening suite, bounded and loopback only.

1. Crash loop: writers replace blobs while the server is ``kill -9``ed at random
   moments (local store; PostgreSQL too when its binaries are installed), each
   restart audited: every visible blob an acknowledged or in-flight version,
   no acknowledged write lost, no orphan file or temporary file (local store).
2. Load: mixed clients (PUT, replace, GET, Range GET, HEAD, list, DELETE) for a
   fixed time on the local store, PostgreSQL and S3 (moto), then an integrity
   audit of every key: zero lost or torn blobs, zero 5xx.

Run from the repository root: ``.venv/bin/python -m stress.run [--minutes N]``.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import shutil
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import requests
from tests.hardening.crashing import KeyHistory, RoundResult, body_for, crash_round, orphans
from tests.support import Server


def crash_loop(name: str, storage: str, root: Path | None, seconds: float, log: Path) -> dict:
    srv = Server(storage, log).start()
    rng = random.Random(20)
    histories = {f"crash/{i}": KeyHistory() for i in range(8)}
    result = RoundResult()
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline:
            crash_round(srv, histories, rng, result)
            if root is not None:
                extra, missing, leftovers = orphans(root)
                assert not (extra or missing or leftovers), (extra, missing, leftovers)
    finally:
        srv.stop()
    acks = sum(h.acks for h in histories.values())
    return {
        "backend": name,
        "kills": result.rounds,
        "verified": result.verified,
        "acknowledged": acks,
        "in_flight_committed": result.interrupted,
    }


def load(name: str, storage: str, seconds: float, log: Path, clients: int = 8) -> dict:
    """Mixed clients on one key space; each key owned by one client so its truth is known."""
    statuses: Counter[int] = Counter()
    truth: dict[str, str | None] = {}
    lock = threading.Lock()
    moved = Counter[str]()
    errors: list[str] = []
    with Server(storage, log) as srv:
        deadline = time.monotonic() + seconds

        def client(index: int) -> None:
            rng = random.Random(index)
            keys = [f"load/{index}/{i}" for i in range(12)]
            mine: dict[str, bytes | None] = dict.fromkeys(keys)
            with requests.Session() as s:
                while time.monotonic() < deadline:
                    key = rng.choice(keys)
                    op = rng.choices(
                        ["put", "get", "range", "head", "list", "delete"], [4, 4, 2, 1, 1, 1]
                    )[0]
                    url = f"{srv.url}/blobs/{key}"
                    try:
                        if op == "put":
                            data = body_for(
                                key, rng.randrange(1 << 30), rng.choice([1, 64, 1024]) << 10
                            )
                            r = s.put(url, data=data, timeout=60)
                            if r.status_code in (200, 201):
                                mine[key] = data
                                moved["in"] += len(data)
                        elif op in ("get", "range", "head"):
                            headers = {"Range": "bytes=10-99"} if op == "range" else {}
                            r = (s.head if op == "head" else s.get)(
                                url, headers=headers, timeout=60
                            )
                            want = mine[key]
                            if want is None:
                                assert r.status_code == 404, (op, key, r.status_code)
                            elif op == "get":
                                assert r.status_code == 200 and r.content == want, (op, key)
                                moved["out"] += len(r.content)
                            elif op == "range":
                                assert r.content == want[10:100], (op, key)
                        elif op == "list":
                            r = s.get(
                                f"{srv.url}/blobs", params={"prefix": f"load/{index}/"}, timeout=60
                            )
                            listed = {b["key"] for b in r.json()["blobs"]}
                            assert listed == {k for k, v in mine.items() if v is not None}
                        else:
                            r = s.delete(url, timeout=60)
                            assert r.status_code == (404 if mine[key] is None else 204)
                            mine[key] = None
                        with lock:
                            statuses[r.status_code] += 1
                    except AssertionError as exc:
                        errors.append(f"{name}: {exc}")
                        return
            with lock:
                for key, data in mine.items():
                    truth[key] = None if data is None else hashlib.sha256(data).hexdigest()

        threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        lost = torn = 0
        for key, digest in truth.items():  # the final integrity audit
            r = requests.get(f"{srv.url}/blobs/{key}", timeout=60)
            if digest is None:
                lost += r.status_code != 404
            elif r.status_code != 200:
                lost += 1
            else:
                torn += hashlib.sha256(r.content).hexdigest() != digest
    five = sum(n for code, n in statuses.items() if code >= 500)
    assert not errors, errors[:5]
    assert lost == torn == five == 0, (lost, torn, five)
    return {
        "backend": name,
        "requests": sum(statuses.values()),
        "statuses": dict(statuses),
        "audited": len(truth),
        "lost": lost,
        "torn": torn,
        "5xx": five,
        "MiB_in": moved["in"] >> 20,
        "MiB_out": moved["out"] >> 20,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=4.0, help="total budget (default 4)")
    args = parser.parse_args()
    share = args.minutes * 60 / 6
    work = Path(tempfile.mkdtemp(prefix="blobstream-stress-"))
    results: list[dict] = []
    services: list = []
    try:
        root = work / "crash-local"
        results.append(crash_loop("file", root.as_uri(), root, share, work / "crash-local.log"))
        backends = [("file", (work / "load-local").as_uri())]
        try:
            from tests.services import S3_ENV, MotoServer, PostgresCluster

            pg = PostgresCluster().start()
            services.append(pg)
            results.append(
                crash_loop("postgresql", pg.new_database(), None, share, work / "crash-pg.log")
            )
            backends.append(("postgresql", pg.new_database()))
            import os

            os.environ.update(S3_ENV)
            moto = MotoServer().start()
            services.append(moto)
            backends.append(("s3", moto.url(moto.new_bucket())))
        except (ImportError, RuntimeError, OSError) as exc:
            print(f"stress: PostgreSQL/S3 not available ({exc}); local store only", file=sys.stderr)
        for name, url in backends:
            results.append(load(name, url, share, work / f"load-{name}.log"))
    finally:
        for service in services:
            service.stop()
            getattr(service, "destroy", lambda: None)()
    for row in results:
        print(row)
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
