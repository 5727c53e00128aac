"""Webhooks: every event once per id, in order per key, signed, and kept across kill -9."""

from __future__ import annotations

import base64
import hashlib
import time
from pathlib import Path
from typing import Any

import requests

from tests.events.receiver import Receiver
from tests.support import Server

SECRET = b"event-secret"


def _server(tmp_path: Path, receiver: Receiver, name: str = "server") -> Server:
    return Server(
        (tmp_path / "data").as_uri(),
        tmp_path / f"{name}.log",
        args=("--hook-url", receiver.url, "--workers", "2"),
        env={"BLOBSTREAM_SECRET": SECRET.decode(), "BLOBSTREAM_HOOK_POLL": "0.2"},
    )


def _of(events: list[dict[str, Any]], key: str) -> list[tuple[str, Any]]:
    return [(e["event"], e["etag"]) for e in events if e["key"] == key]


def test_each_event_arrives_signed_once_and_in_order_per_key(tmp_path: Path) -> None:
    with Receiver(SECRET) as receiver, _server(tmp_path, receiver) as srv:
        etags = []
        for n in range(3):
            r = requests.put(
                srv.url + "/blobs/docs/a.txt",
                data=f"version {n}".encode(),
                headers={"X-Request-Id": f"req-{n}", "Content-Type": "text/plain"},
                timeout=10,
            )
            assert r.status_code in (200, 201)
            assert r.headers["X-Request-Id"] == f"req-{n}"
            etags.append(r.headers["ETag"])
        r = requests.delete(srv.url + "/blobs/docs/a.txt", timeout=10)
        assert r.status_code == 204
        assert len(r.headers["X-Request-Id"]) == 32  # generated when the client sent none
        meta = "key " + base64.b64encode(b"up/b.bin").decode()
        r = requests.post(
            srv.url + "/uploads",
            headers={"Tus-Resumable": "1.0.0", "Upload-Length": "5", "Upload-Metadata": meta},
            timeout=10,
        )
        assert r.status_code == 201
        location = r.headers["Location"]
        r = requests.patch(
            requests.compat.urljoin(srv.url, location),
            data=b"hello",
            headers={
                "Tus-Resumable": "1.0.0",
                "Upload-Offset": "0",
                "Content-Type": "application/offset+octet-stream",
            },
            timeout=10,
        )
        assert r.status_code == 204

        events = receiver.wait_for(lambda ev: len(ev) >= 6)
        committed = [("blob.committed", etag) for etag in etags]
        assert _of(events, "docs/a.txt") == [*committed, ("blob.deleted", etags[-1])]
        upload = [e for e in events if e["key"] == "up/b.bin"]
        assert [e["event"] for e in upload] == ["upload.created", "blob.committed"]
        first = next(e for e in events if e["key"] == "docs/a.txt")
        assert first["request_id"] == "req-0"
        assert first["size"] == len(b"version 0")
        assert first["sha256"] == hashlib.sha256(b"version 0").hexdigest()
        assert first["content_type"] == "text/plain"
        assert first["node"].rsplit(":", 1)[1].isdigit()
        assert upload[1]["sha256"] == hashlib.sha256(b"hello").hexdigest()
        # At-least-once: a redelivery may repeat an id, never invent an event.
        assert len({e["id"] for e in events}) == len(events) == 6


def test_an_event_committed_before_kill_9_is_delivered_after_restart(tmp_path: Path) -> None:
    with Receiver(SECRET) as receiver:
        receiver.answer = lambda _: (503, b"")  # the receiver is down: nothing gets through
        srv = _server(tmp_path, receiver).start()
        try:
            r = requests.put(srv.url + "/blobs/kept.txt", data=b"kept", timeout=10)
            assert r.status_code == 201
            receiver.wait_for(lambda _: len(receiver.received) >= 1)
            # Let the 503 reach the sender, which then frees the entry for a retry; a
            # kill while it waits for the answer would keep the entry leased for a minute.
            time.sleep(0.5)
        finally:
            srv.kill()
        receiver.answer = lambda _: (200, b"")
        delivered_before = len(receiver.received)
        with _server(tmp_path, receiver, "restarted"):
            events = receiver.wait_for(
                lambda _: len(receiver.received) > delivered_before, timeout=30
            )
        assert [(e["event"], e["key"]) for e in events] == [("blob.committed", "kept.txt")]
        assert events[0]["etag"] == r.headers["ETag"]


def test_upload_progress_and_expiry_events(tmp_path: Path) -> None:
    with Receiver(SECRET) as receiver:
        srv = Server(
            (tmp_path / "data").as_uri(),
            tmp_path / "server.log",
            args=("--hook-url", receiver.url),
            env={
                "BLOBSTREAM_SECRET": SECRET.decode(),
                "BLOBSTREAM_HOOK_POLL": "0.2",
                "BLOBSTREAM_UPLOAD_EXPIRY": "2",
                "BLOBSTREAM_UPLOAD_SWEEP_INTERVAL": "0.5",
            },
        )
        with srv:
            meta = "key " + base64.b64encode(b"slow.bin").decode()
            tus = {"Tus-Resumable": "1.0.0"}
            r = requests.post(
                srv.url + "/uploads",
                headers={**tus, "Upload-Length": "10", "Upload-Metadata": meta},
                timeout=10,
            )
            upload = requests.compat.urljoin(srv.url, r.headers["Location"])
            r = requests.patch(
                upload,
                data=b"12345",
                headers={
                    **tus,
                    "Upload-Offset": "0",
                    "Content-Type": "application/offset+octet-stream",
                },
                timeout=10,
            )
            assert r.status_code == 204
            events = receiver.wait_for(lambda ev: len(ev) >= 3, timeout=30)
    assert [e["event"] for e in events] == ["upload.created", "upload.progress", "upload.expired"]
    assert events[1]["offset"] == 5
    assert events[1]["size"] == 10
    assert events[1]["upload_id"] == upload.rsplit("/", 1)[1]
