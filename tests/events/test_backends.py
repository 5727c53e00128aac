"""Events on PostgreSQL (an outbox table, claims with SKIP LOCKED) and from Python callables."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from flask import Flask

from blobstream.errors import Vetoed
from blobstream.events import Event, PendingBlob
from blobstream.events.outbox import PostgresOutbox
from blobstream.server.extension import Blobstream
from blobstream.server.state import EXTENSION_KEY
from blobstream.storage.postgres import PostgresStore
from tests.events.receiver import Receiver
from tests.support import Server

SECRET = b"pg-secret"


def test_postgres_outbox_delivers_in_order_across_a_kill_9(
    tmp_path: Path, postgres_url: str
) -> None:
    with Receiver(SECRET) as receiver:
        receiver.answer = lambda _: (503, b"")
        srv = Server(
            postgres_url,
            tmp_path / "server.log",
            args=("--hook-url", receiver.url),
            env={"BLOBSTREAM_SECRET": SECRET.decode(), "BLOBSTREAM_HOOK_POLL": "0.2"},
        ).start()
        try:
            etags = [
                requests.put(srv.url + "/blobs/pg.txt", data=b"v%d" % n, timeout=10).headers["ETag"]
                for n in range(3)
            ]
            assert requests.delete(srv.url + "/blobs/pg.txt", timeout=10).status_code == 204
            receiver.wait_for(lambda _: len(receiver.received) >= 1)
        finally:
            srv.kill()
        receiver.answer = lambda _: (200, b"")
        srv.log_path = tmp_path / "restarted.log"
        with srv:
            events = receiver.wait_for(lambda ev: len(ev) >= 4, timeout=30)
    assert [(e["event"], e["etag"]) for e in events] == [
        *(("blob.committed", etag) for etag in etags),
        ("blob.deleted", etags[-1]),
    ]


def test_two_claimers_never_hold_the_same_entry(postgres_url: str) -> None:
    store = PostgresStore(postgres_url)
    try:
        outbox = PostgresOutbox(store)
        events = [Event("blob.committed", key=f"k{n % 7}") for n in range(60)]
        outbox.append(events, ["http://127.0.0.1:9/a", "http://127.0.0.1:9/b"])
        claimed: list[list[int]] = [[], []]

        def claim(i: int) -> None:
            claimed[i] = [e.seq for e in outbox.claim(f"node{i}", 100, 60)]

        threads = [threading.Thread(target=claim, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        both = claimed[0] + claimed[1]
        assert len(both) == len(set(both)) == 14  # the oldest entry of each (URL, key), once
    finally:
        store.close()


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    app = Flask("devapp")
    app.config.update(BLOBSTREAM_STORAGE=(tmp_path / "data").as_uri())
    yield app
    app.extensions[EXTENSION_KEY].store.close()


def test_python_callables_see_events_and_may_veto(app: Flask) -> None:
    seen: list[Event] = []
    ext = Blobstream(app, on_event=seen.append)
    committed: list[str] = []
    ext.on("blob.committed", lambda event: committed.append(event.key))
    ext.on("blob.deleted", lambda event: 1 / 0)  # noqa: B023 - a failing listener is logged

    @ext.pre_commit
    def no_exe(pending: PendingBlob) -> None:
        if pending.key.endswith(".exe"):
            raise Vetoed("no programs here", 415)

    client = app.test_client()
    assert client.put("/blobs/a.txt", data=b"a").status_code == 201
    assert client.delete("/blobs/a.txt").status_code == 204
    r = client.put("/blobs/b.exe", data=b"MZ")
    assert r.status_code == 415
    assert r.json is not None and r.json["detail"] == "no programs here"
    assert client.get("/blobs/b.exe").status_code == 404
    assert [(e.event, e.key) for e in seen] == [
        ("blob.committed", "a.txt"),
        ("blob.deleted", "a.txt"),
    ]
    assert committed == ["a.txt"]
    with pytest.raises(ValueError):
        ext.on("blob.renamed", print)
