"""IETF resumable uploads over HTTP: raw requests for the status codes, tus-js-client in
its ietf-draft-03 and ietf-draft-05 modes for upload, interruption and resumption."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import uuid
from pathlib import Path

import pytest
import requests

from tests.support import Server

TIMEOUT = 30
V6 = {"Upload-Draft-Interop-Version": "6"}
PARTIAL = {**V6, "Content-Type": "application/partial-upload"}


def blob(server: Server, key: str) -> requests.Response:
    return requests.get(f"{server.url}/blobs/{key}", timeout=TIMEOUT)


def create(server: Server, key: str, body: bytes = b"", **headers: str) -> requests.Response:
    return requests.post(
        f"{server.url}/uploads/ietf/{key}",
        headers={**V6, "Upload-Complete": "?0", **headers},
        data=body,
        timeout=TIMEOUT,
    )


def test_a_key_outside_ascii_is_percent_encoded_in_its_header(server: Server) -> None:
    """A header value is ASCII (RFC 9110 §5.5): such a key once made gunicorn answer 500."""
    key = f"ietf/½ {uuid.uuid4().hex}"
    r = create(server, key, b"body", **{"Upload-Complete": "?1"})
    assert r.status_code == 201, r.text
    assert r.headers["Blobstream-Key"] == "ietf/%C2%BD%20" + key[-32:]
    assert r.headers["Blobstream-Upload-Id"] in r.headers["Location"]
    assert blob(server, key).content == b"body"


def test_upload_in_one_request_with_upload_complete(server: Server) -> None:
    key = f"ietf/{uuid.uuid4().hex}"
    r = create(server, key, b"whole body", **{"Upload-Complete": "?1"})
    assert r.status_code == 201, r.text
    assert r.headers["Upload-Complete"] == "?1"
    assert r.headers["Upload-Offset"] == "10"
    assert r.headers["Blobstream-Key"] == key
    assert blob(server, key).content == b"whole body"


def test_create_append_and_retrieve_the_offset(server: Server) -> None:
    key = f"ietf/{uuid.uuid4().hex}"
    r = create(server, key, b"abc", **{"Upload-Length": "9"})
    assert r.status_code == 201, r.text
    assert (r.headers["Upload-Offset"], r.headers["Upload-Complete"]) == ("3", "?0")
    assert r.headers["Upload-Draft-Interop-Version"] == "6"
    url = r.headers["Location"]
    assert url.endswith("/ietf")
    head = requests.head(url, headers=V6, timeout=TIMEOUT)
    assert head.status_code == 204
    assert (head.headers["Upload-Offset"], head.headers["Upload-Length"]) == ("3", "9")
    assert head.headers["Cache-Control"] == "no-store"
    assert blob(server, key).status_code == 404
    stale = requests.patch(
        url,
        headers={**PARTIAL, "Upload-Offset": "0", "Upload-Complete": "?0"},
        data=b"xyz",
        timeout=TIMEOUT,
    )
    assert stale.status_code == 409
    r = requests.patch(
        url,
        headers={**PARTIAL, "Upload-Offset": "3", "Upload-Complete": "?0"},
        data=b"def",
        timeout=TIMEOUT,
    )
    assert (r.status_code, r.headers["Upload-Offset"]) == (204, "6")
    r = requests.patch(
        url,
        headers={**PARTIAL, "Upload-Offset": "6", "Upload-Complete": "?1"},
        data=b"ghi",
        timeout=TIMEOUT,
    )
    assert (r.status_code, r.headers["Upload-Complete"]) == (204, "?1")
    assert blob(server, key).content == b"abcdefghi"


def test_unknown_length_ends_with_the_request_marked_complete(server: Server) -> None:
    key = f"ietf/{uuid.uuid4().hex}"
    url = create(server, key).headers["Location"]

    def chunks() -> object:
        yield b"streamed "
        yield b"tail"

    r = requests.patch(
        url,
        headers={**PARTIAL, "Upload-Offset": "0", "Upload-Complete": "?1"},
        data=chunks(),
        timeout=TIMEOUT,
    )
    assert r.status_code == 204, r.text
    assert blob(server, key).content == b"streamed tail"


def test_cancellation_removes_the_upload(server: Server) -> None:
    r = create(server, f"ietf/{uuid.uuid4().hex}", b"partial")
    url = r.headers["Location"]
    assert requests.delete(url, headers=V6, timeout=TIMEOUT).status_code == 204
    assert requests.head(url, headers=V6, timeout=TIMEOUT).status_code == 404


def test_the_upload_state_is_shared_with_tus(server: Server) -> None:
    key = f"ietf/{uuid.uuid4().hex}"
    url = create(server, key, b"12345", **{"Upload-Length": "10"}).headers["Location"]
    tus_url = url.removesuffix("/ietf")
    head = requests.head(tus_url, headers={"Tus-Resumable": "1.0.0"}, timeout=TIMEOUT)
    assert head.headers["Upload-Offset"] == "5"


def test_bad_requests_are_4xx_problems(server: Server) -> None:
    key = f"ietf/{uuid.uuid4().hex}"
    cases = [
        ({"Upload-Complete": "?0"}, 400),  # no interop version
        ({**V6}, 400),  # no Upload-Complete
        ({**V6, "Upload-Complete": "yes"}, 400),
        ({"Upload-Draft-Interop-Version": "99", "Upload-Complete": "?0"}, 400),
        ({**V6, "Upload-Complete": "?0", "Upload-Length": "-1"}, 400),
    ]
    for headers, status in cases:
        r = requests.post(f"{server.url}/uploads/ietf/{key}", headers=headers, timeout=TIMEOUT)
        assert r.status_code == status, (headers, r.text)
        assert r.headers["Content-Type"] == "application/problem+json"
    url = create(server, key, b"ab").headers["Location"]
    wrong_type = requests.patch(
        url,
        headers={**V6, "Upload-Offset": "2", "Upload-Complete": "?0",
                 "Content-Type": "application/octet-stream"},
        data=b"c",
        timeout=TIMEOUT,
    )  # fmt: skip
    assert wrong_type.status_code == 415
    no_offset = requests.patch(
        url, headers={**PARTIAL, "Upload-Complete": "?0"}, data=b"c", timeout=TIMEOUT
    )
    assert no_offset.status_code == 400
    unknown = f"{server.url}/uploads/{uuid.uuid4().hex}/ietf"
    assert requests.head(unknown, headers=V6, timeout=TIMEOUT).status_code == 404


def run_js(tus_js: Path, *args: str) -> tuple[int, list[dict[str, object]]]:
    proc = subprocess.run(
        ["node", str(tus_js / "upload_ietf.js"), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    events = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    return proc.returncode, events


@pytest.mark.parametrize("protocol", ["ietf-draft-03", "ietf-draft-05"])
def test_tus_js_client_uploads_is_interrupted_and_resumes(
    server: Server, tus_js: Path, tmp_path: Path, protocol: str
) -> None:
    data = os.urandom(5 * 1024 * 1024 + 777)
    path = tmp_path / "payload.bin"
    path.write_bytes(data)
    store = tmp_path / "urls.json"
    key = f"ietf/{protocol}/{uuid.uuid4().hex}"
    endpoint = f"{server.url}/uploads/ietf/{key}"
    chunk = str(1024 * 1024)
    code, events = run_js(tus_js, endpoint, str(path), protocol, chunk, str(store), str(2 << 20))
    assert code == 3, events
    assert blob(server, key).status_code == 404
    code, events = run_js(tus_js, endpoint, str(path), protocol, chunk, str(store))
    assert code == 0, events
    assert events[0]["event"] == "resume"
    first = next(e for e in events if e["event"] == "progress")
    assert int(str(first["accepted"])) > 2 << 20  # it went on from where it stopped
    got = blob(server, key)
    assert hashlib.sha256(got.content).hexdigest() == hashlib.sha256(data).hexdigest()
