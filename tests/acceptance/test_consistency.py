"""A reader always sees one complete version, whatever writers do meanwhile."""

from __future__ import annotations

import hashlib
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import requests

from tests.acceptance.helpers import (
    TIMEOUT,
    data_files,
    get,
    list_all,
    put,
    sha256,
    storage_root,
    unique,
)
from tests.support import Server


def test_slow_reader_keeps_the_old_version(server: Server) -> None:
    key = unique("slow")
    old = os.urandom(24 << 20)
    new = os.urandom(24 << 20)
    assert put(server, key, old).status_code == 201
    with requests.get(f"{server.url}/blobs/{key}", stream=True, timeout=TIMEOUT) as r:
        pieces = r.iter_content(65536)
        received = [next(pieces)]
        time.sleep(0.3)
        assert put(server, key, new).status_code == 200
        assert get(server, key, Range="bytes=0-99").content == new[:100]
        received.extend(pieces)
    assert hashlib.sha256(b"".join(received)).hexdigest() == sha256(old)


def test_concurrent_writers_and_readers(fresh_server: Server) -> None:
    key = "contended/blob"
    bodies = [os.urandom(512 * 1024 + i) for i in range(8)]
    digests = {sha256(body) for body in bodies}
    put(fresh_server, key, b"seed")
    digests.add(sha256(b"seed"))
    stop = threading.Event()
    seen: list[str] = []

    def write(body: bytes) -> int:
        with requests.Session() as s:
            for _ in range(3):
                r = s.put(f"{fresh_server.url}/blobs/{key}", data=body, timeout=TIMEOUT)
                assert r.status_code == 200, r.text
        return r.status_code

    def read() -> None:
        with requests.Session() as s:
            while not stop.is_set():
                r = s.get(f"{fresh_server.url}/blobs/{key}", timeout=TIMEOUT)
                assert r.status_code == 200
                assert r.headers["Content-Length"] == str(len(r.content))
                seen.append(hashlib.sha256(r.content).hexdigest())

    with ThreadPoolExecutor(12) as pool:
        readers = [pool.submit(read) for _ in range(4)]
        writers = [pool.submit(write, body) for body in bodies]
        for w in writers:
            w.result()
        stop.set()
        for rd in readers:
            rd.result()
    assert seen and set(seen) <= digests
    final = get(fresh_server, key)
    assert sha256(final.content) in digests - {sha256(b"seed")}
    assert final.headers["Repr-Digest"]
    # Every replaced version's file is gone: one live file for one key.
    assert len(list_all(fresh_server)) == 1
    assert len(data_files(storage_root(fresh_server))) == 1
