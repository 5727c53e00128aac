"""Real tus clients against real servers: tuspy and tus-js-client (also ``parallelUploads``),
interrupted — client or server killed mid-upload — and resumed, also on a second server
process on the same storage directory. The blob then has exactly the file's bytes."""

from __future__ import annotations

import base64
import hashlib
import json
import socket
import subprocess
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import requests
from tusclient.client import TusClient

from tests.support import Server
from tests.tus.conftest import MIB, Payload
from tests.tus.tusraw import head


def check_blob(server: Server, key: str, payload: Payload) -> None:
    """GET the blob in pieces and compare its SHA-256 and its Repr-Digest with the file's."""
    digest = hashlib.sha256()
    with requests.get(f"{server.url}/blobs/{key}", stream=True, timeout=60) as r:
        assert r.status_code == 200
        for piece in r.iter_content(MIB):
            digest.update(piece)
        repr_digest = r.headers["Repr-Digest"]
        assert r.headers["Content-Type"] == "application/x-blobstream-test"
    assert digest.hexdigest() == payload.sha256
    expected = base64.b64encode(bytes.fromhex(payload.sha256)).decode()
    assert repr_digest == f"sha-256=:{expected}:"


def patch_until_killed(server: Server, url: str, offset: int, payload: Payload) -> None:
    """Start a PATCH of 64 MiB, and kill -9 the server once half of it is sent."""
    path = urlsplit(url).path
    with socket.create_connection(("127.0.0.1", server.port)) as sock, payload.path.open("rb") as f:
        sock.sendall(
            f"PATCH {path} HTTP/1.1\r\nHost: x\r\nTus-Resumable: 1.0.0\r\n"
            f"Content-Type: application/offset+octet-stream\r\nUpload-Offset: {offset}\r\n"
            f"Content-Length: {64 * MIB}\r\n\r\n".encode()
        )
        f.seek(offset)
        for _ in range(32):
            sock.sendall(f.read(MIB))
        time.sleep(0.2)
        server.kill()


def test_tuspy_upload_survives_a_killed_server_and_resumes_on_another(
    tmp_path: Path, payload: Payload
) -> None:
    storage = (tmp_path / "data").as_uri()
    key = f"tuspy/{uuid.uuid4().hex}.bin"
    metadata = {
        "key": key,
        "filename": payload.path.name,
        "filetype": "application/x-blobstream-test",
    }
    first = Server(storage, tmp_path / "first.log").start()
    stream = payload.path.open("rb")  # tuspy leaves a file it opened itself unclosed
    try:
        uploader = TusClient(first.url + "/uploads").uploader(
            file_stream=stream, chunk_size=8 * MIB, metadata=metadata, upload_checksum=True
        )
        uploader.upload(stop_at=120 * MIB)
        url = uploader.url
        assert url is not None
        assert head(url).headers["Upload-Offset"] == str(120 * MIB)
        patch_until_killed(first, url, 120 * MIB, payload)
    finally:
        first.stop()
        stream.close()
    with Server(storage, tmp_path / "second.log") as second, payload.path.open("rb") as stream:
        moved = second.url + urlsplit(url).path
        # kill -9 mid-PATCH: what the dead server never recorded is not trusted
        offset = int(head(moved).headers["Upload-Offset"])
        assert offset == 120 * MIB
        resumed = TusClient(second.url + "/uploads").uploader(
            file_stream=stream, url=moved, chunk_size=8 * MIB, upload_checksum=True
        )
        assert resumed.offset == offset
        resumed.upload()
        assert int(head(moved).headers["Upload-Offset"]) == payload.size
        check_blob(second, key, payload)


def run_node(tus_js: Path, endpoint: str, payload: Payload, key: str, parallel: int,
             store: Path, kill_at: int | None = None) -> list[dict[str, object]]:  # fmt: skip
    """Run tests/js/upload.js; kill it (SIGKILL) once ``kill_at`` bytes are reported sent."""
    args = ["node", str(tus_js / "upload.js"), endpoint, str(payload.path), key,
            str(8 * MIB), str(parallel), str(store)]  # fmt: skip
    events: list[dict[str, object]] = []
    with subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        timer = threading.Timer(120, proc.kill)
        timer.start()
        try:
            for line in proc.stdout:
                event = json.loads(line)
                events.append(event)
                sent = event.get("sent")
                if kill_at is not None and isinstance(sent, int) and sent >= kill_at:
                    proc.kill()
                    break
            proc.wait()
            stderr = proc.stderr.read()
        finally:
            timer.cancel()
    if kill_at is None:
        assert proc.returncode == 0, (events[-3:], stderr)
    return events


def test_tus_js_client_killed_and_resumed(tmp_path: Path, payload: Payload, tus_js: Path) -> None:
    key = f"js/{uuid.uuid4().hex}.bin"
    store = tmp_path / "tus-url-store.json"
    with Server((tmp_path / "data").as_uri(), tmp_path / "server.log") as server:
        events = run_node(tus_js, server.url + "/uploads", payload, key, 1, store, 100 * MIB)
        assert not any(e["event"] == "success" for e in events)
        events = run_node(tus_js, server.url + "/uploads", payload, key, 1, store)
        resume = next(e for e in events if e["event"] in ("resume", "progress"))
        assert resume["event"] == "resume"
        first_progress = next(e for e in events if e["event"] == "progress")
        assert isinstance(first_progress["sent"], int) and first_progress["sent"] >= 96 * MIB
        assert events[-1]["event"] == "success"
        check_blob(server, key, payload)


def test_tus_js_client_parallel_uploads_resume_on_a_second_server(
    tmp_path: Path, payload: Payload, tus_js: Path
) -> None:
    key = f"js-parallel/{uuid.uuid4().hex}.bin"
    store = tmp_path / "tus-url-store.json"
    storage = (tmp_path / "data").as_uri()
    with Server(storage, tmp_path / "first.log") as first:
        port = first.port
        events = run_node(tus_js, first.url + "/uploads", payload, key, 3, store, 120 * MIB)
        assert not any(e["event"] == "success" for e in events)
    # the stored upload URLs name this port: a new process serves the same store there
    with Server(storage, tmp_path / "second.log", port=port) as second:
        events = run_node(tus_js, second.url + "/uploads", payload, key, 3, store)
        resume = next(e for e in events if e["event"] == "resume")
        parts = resume["parts"]
        assert isinstance(parts, list) and len(parts) == 3
        assert events[-1]["event"] == "success"
        check_blob(second, key, payload)
