"""One crash round: writers replace blobs, the server is ``kill -9``ed, then audited.

Shared by the fast test in ``make test`` and the long loop in ``stress/run.py``.
Each key has one writer thread, so the order of its versions is known: after a
restart the visible version must be the last acknowledged one or one whose PUT
was still in flight at the kill (it may have committed without the answer
getting out) — never an older one, never a torn one.
"""

from __future__ import annotations

import hashlib
import random
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

from tests.support import Server


def body_for(key: str, version: int, size: int) -> bytes:
    """A deterministic body per (key, version): cheap to regenerate for checks."""
    seed = hashlib.sha256(f"{key}:{version}".encode()).digest()
    return (seed * (size // len(seed) + 1))[:size]


@dataclass
class KeyHistory:
    acknowledged: str | None = None  # sha256 of the last 200/201
    in_flight: set[str] = field(default_factory=set)  # sent after it, never answered
    acks: int = 0


@dataclass
class RoundResult:
    rounds: int = 0
    interrupted: int = 0
    verified: int = 0


def _writer(
    url: str, key: str, history: KeyHistory, stop: threading.Event, rng: random.Random
) -> None:
    version = 0
    with requests.Session() as session:
        while not stop.is_set():
            version += 1
            data = body_for(key, version + rng.randrange(1 << 30), rng.choice([1, 64, 512]) << 10)
            digest = hashlib.sha256(data).hexdigest()
            history.in_flight.add(digest)
            try:
                r = session.put(f"{url}/blobs/{key}", data=data, timeout=30)
            except requests.RequestException:
                return  # the server died under us: this version is in flight for good
            if r.status_code in (200, 201):
                history.acknowledged = digest
                history.in_flight.clear()
                history.acks += 1
            else:
                assert r.status_code < 500, (r.status_code, r.text)


def crash_round(
    srv: Server, histories: dict[str, KeyHistory], rng: random.Random, result: RoundResult
) -> None:
    """Write for a random while, kill -9, restart, audit every key."""
    stop = threading.Event()
    threads = [
        threading.Thread(
            target=_writer, args=(srv.url, key, hist, stop, random.Random(rng.random()))
        )
        for key, hist in histories.items()
    ]
    for t in threads:
        t.start()
    time.sleep(rng.uniform(0.2, 1.5))
    srv.kill()
    stop.set()
    for t in threads:
        t.join(60)
    srv.start()
    audit(srv, histories, result)


def audit(srv: Server, histories: dict[str, KeyHistory], result: RoundResult) -> None:
    for key, hist in histories.items():
        r = requests.get(f"{srv.url}/blobs/{key}", timeout=30)
        if r.status_code == 404:
            assert hist.acknowledged is None, f"{key}: an acknowledged write was lost"
            hist.in_flight.clear()
            continue
        assert r.status_code == 200, (r.status_code, r.text)
        digest = hashlib.sha256(r.content).hexdigest()
        allowed = {hist.acknowledged, *hist.in_flight} - {None}
        assert digest in allowed, f"{key}: visible version is neither acknowledged nor in flight"
        assert r.headers["Content-Length"] == str(len(r.content))
        if digest != hist.acknowledged:
            result.interrupted += 1
        hist.acknowledged = digest  # what is visible now is the baseline for the next round
        hist.in_flight.clear()
        result.verified += 1
    result.rounds += 1


def orphans(root: Path) -> tuple[set[str], set[str], list[str]]:
    """(files on disk not in the index, index rows without a file, leftover tmp files)."""
    on_disk = {p.name for p in (root / "data").glob("*/*") if p.is_file()}
    with sqlite3.connect(f"{(root / 'index.sqlite3').as_uri()}?mode=ro", uri=True) as db:
        indexed = {row[0] for row in db.execute("SELECT file FROM blobs")}
    db.close()
    return on_disk - indexed, indexed - on_disk, sorted(p.name for p in (root / "tmp").iterdir())
