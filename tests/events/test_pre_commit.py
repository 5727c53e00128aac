"""The pre-commit hook vetoes a write: the client gets its status and message, no blob."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import requests

from tests.events.receiver import Receiver
from tests.support import Server

INFECTED = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
BAD_SHA = hashlib.sha256(INFECTED).hexdigest()


def scanner(event: dict[str, Any]) -> tuple[int, bytes]:
    if event["key"].startswith("broken/"):
        return 500, b"scanner crashed"
    if event["sha256"] == BAD_SHA:
        return 422, json.dumps({"detail": f"virus found in {event['key']}"}).encode()
    return 204, b""


def test_a_vetoed_write_gets_the_hooks_status_and_leaves_the_old_version(tmp_path: Path) -> None:
    with Receiver() as hook:
        hook.answer = scanner
        srv = Server(
            (tmp_path / "data").as_uri(),
            tmp_path / "server.log",
            env={"BLOBSTREAM_PRE_COMMIT_URL": hook.url},
        )
        with srv:
            url = srv.url + "/blobs/inbox/doc.txt"
            assert requests.put(url, data=b"clean", timeout=10).status_code == 201
            asked = hook.events()[-1]
            assert asked["event"] == "blob.pre-commit"
            assert asked["size"] == 5
            assert asked["sha256"] == hashlib.sha256(b"clean").hexdigest()

            r = requests.put(url, data=INFECTED, timeout=10)
            assert r.status_code == 422
            assert r.headers["Content-Type"] == "application/problem+json"
            assert r.json()["detail"] == "virus found in inbox/doc.txt"
            assert requests.get(url, timeout=10).content == b"clean"

            r = requests.put(srv.url + "/blobs/broken/x", data=b"any", timeout=10)
            assert r.status_code == 403  # a 5xx from the hook is not the client's to see
            assert r.json()["detail"] == "scanner crashed"
            assert requests.get(srv.url + "/blobs/broken/x", timeout=10).status_code == 404

            files = {"file": ("virus.com", INFECTED, "application/octet-stream")}
            r = requests.post(srv.url + "/blobs/forms/", files=files, timeout=10)
            assert r.status_code == 422
            assert requests.get(srv.url + "/blobs/forms/virus.com", timeout=10).status_code == 404

            meta = "key " + base64.b64encode(b"tus/virus.com").decode()
            tus = {"Tus-Resumable": "1.0.0"}
            r = requests.post(
                srv.url + "/uploads",
                headers={**tus, "Upload-Length": str(len(INFECTED)), "Upload-Metadata": meta},
                timeout=10,
            )
            upload = requests.compat.urljoin(srv.url, r.headers["Location"])
            r = requests.patch(
                upload,
                data=INFECTED,
                headers={
                    **tus,
                    "Upload-Offset": "0",
                    "Content-Type": "application/offset+octet-stream",
                },
                timeout=10,
            )
            assert r.status_code == 422
            assert requests.get(srv.url + "/blobs/tus/virus.com", timeout=10).status_code == 404
            assert requests.head(upload, headers=tus, timeout=10).status_code == 404  # bytes gone
        leftovers = [p for p in (tmp_path / "data" / "tmp").iterdir()]
        assert leftovers == []
