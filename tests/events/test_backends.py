"""Events on PostgreSQL (an outbox table, claims with SKIP LOCKED), on S3 (outbox objects,
leases by conditional writes) and from Python callables."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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
from tests.services import MotoServer
from tests.support import Server

SECRET = b"pg-secret"


@pytest.mark.parametrize("backend", ["postgresql", "s3"])
def test_outbox_delivers_once_in_order_across_a_kill_9(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    url = request.getfixturevalue("postgres_url" if backend == "postgresql" else "s3_url")
    accepted: list[str] = []

    def accept(event: dict[str, Any]) -> tuple[int, bytes]:
        accepted.append(event["id"])
        return 200, b""

    with Receiver(SECRET) as receiver:
        receiver.answer = lambda _: (503, b"")
        srv = Server(
            url,
            tmp_path / "server.log",
            args=("--hook-url", receiver.url),
            env={"BLOBSTREAM_SECRET": SECRET.decode(), "BLOBSTREAM_HOOK_POLL": "0.2"},
        ).start()
        try:
            etags: dict[str, list[str]] = {"a.txt": [], "b.txt": []}
            for n in range(3):
                for key in etags:
                    r = requests.put(f"{srv.url}/blobs/{key}", data=b"v%d" % n, timeout=10)
                    etags[key].append(r.headers["ETag"])
            assert requests.delete(srv.url + "/blobs/a.txt", timeout=10).status_code == 204
            receiver.wait_for(lambda _: len(receiver.received) >= 1)
            time.sleep(0.5)  # the 503 reaches the sender, which frees the entry for a retry
        finally:
            srv.kill()
        receiver.answer = accept
        srv.log_path = tmp_path / "restarted.log"
        with srv:
            events = receiver.wait_for(lambda _: len(accepted) >= 7, timeout=40)
            time.sleep(1)  # time for a wrong second delivery to show
    assert len(accepted) == len(set(accepted)) == 7  # each event accepted once
    by_key = {key: [(e["event"], e["etag"]) for e in events if e["key"] == key] for key in etags}
    assert by_key == {
        "a.txt": [
            *(("blob.committed", e) for e in etags["a.txt"]),
            ("blob.deleted", etags["a.txt"][-1]),
        ],
        "b.txt": [("blob.committed", e) for e in etags["b.txt"]],
    }


def test_s3_outbox_is_out_of_reach_of_blob_keys(
    tmp_path: Path, moto: MotoServer, s3_env: None
) -> None:
    """Entries live under <prefix>/.blobstream/, blobs under <prefix>/blobs/: a blob
    key that looks like the outbox is an ordinary blob, and no entry is ever listed."""
    bucket = moto.new_bucket()
    with Receiver(SECRET) as receiver:
        receiver.answer = lambda _: (503, b"")  # entries stay in the outbox
        srv = Server(
            moto.url(bucket, "data", part_size="5MiB"),
            tmp_path / "server.log",
            args=("--hook-url", receiver.url),
            env={"BLOBSTREAM_SECRET": SECRET.decode(), "BLOBSTREAM_HOOK_POLL": "0.2"},
        )
        with srv:
            key = ".blobstream/outbox/00000000000000000000-x.json"
            assert requests.put(f"{srv.url}/blobs/{key}", data=b"{}", timeout=10).status_code == 201
            assert requests.put(f"{srv.url}/blobs/plain", data=b"p", timeout=10).status_code == 201
            listed = requests.get(srv.url + "/blobs", timeout=10).json()["blobs"]
            client = moto.client()
            objects = [o["Key"] for o in client.list_objects_v2(Bucket=bucket).get("Contents", [])]
    assert [b["key"] for b in listed] == [key, "plain"]
    assert f"data/blobs/{key}" in objects
    entries = [o for o in objects if o.startswith("data/.blobstream/outbox/")]
    assert len(entries) >= 2 and all(o.endswith((".json", ".lease")) for o in entries)
    assert not any(o.startswith("data/.blobstream/outbox/00000000000000000000") for o in entries)


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
