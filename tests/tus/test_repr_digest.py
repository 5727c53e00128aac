"""An upload created with ``repr-digest sha-256`` completes only with a matching Repr-Digest."""

from __future__ import annotations

import base64
import hashlib
import http.client
import os
import uuid
from urllib.parse import urlsplit

import requests

from tests.support import Server

TUS = {"Tus-Resumable": "1.0.0"}
BODY = os.urandom(300_000)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _create(server: Server, key: str, length: int) -> str:
    metadata = f"key {_b64(key.encode())},repr-digest {_b64(b'sha-256')}"
    r = requests.post(
        f"{server.url}/uploads",
        headers={**TUS, "Upload-Length": str(length), "Upload-Metadata": metadata},
        timeout=10,
    )
    assert r.status_code == 201, r.text
    return r.headers["Location"]


def _patch(url: str, offset: int, body: bytes, **headers: str) -> requests.Response:
    return requests.patch(
        url,
        data=body,
        headers={
            **TUS,
            "Content-Type": "application/offset+octet-stream",
            "Upload-Offset": str(offset),
            **headers,
        },
        timeout=10,
    )


def _digest(data: bytes) -> str:
    return f"sha-256=:{_b64(hashlib.sha256(data).digest())}:"


def _blob(server: Server, key: str) -> int:
    return requests.head(f"{server.url}/blobs/{key}", timeout=10).status_code


def test_all_bytes_wait_for_the_digest_then_commit(server: Server) -> None:
    key = f"repr/{uuid.uuid4().hex}"
    url = _create(server, key, len(BODY))
    assert _patch(url, 0, BODY).status_code == 204
    head = requests.head(url, headers=TUS, timeout=10)  # HEAD does not complete it
    assert head.headers["Upload-Offset"] == str(len(BODY))
    assert _blob(server, key) == 404
    done = _patch(url, len(BODY), b"", **{"Repr-Digest": _digest(BODY)})
    assert done.status_code == 204, done.text
    got = requests.get(f"{server.url}/blobs/{key}", timeout=10)
    assert got.content == BODY


def test_a_wrong_digest_stores_nothing_and_discards_the_upload(server: Server) -> None:
    key = f"repr/{uuid.uuid4().hex}"
    url = _create(server, key, len(BODY))
    wrong = _patch(url, 0, BODY, **{"Repr-Digest": _digest(BODY[:-1] + b"x")})
    assert wrong.status_code == 400
    assert wrong.json()["type"].endswith("/digest-mismatch")
    assert _blob(server, key) == 404
    assert requests.head(url, headers=TUS, timeout=10).status_code == 404


def test_the_digest_in_the_trailer_section_is_checked(server: Server) -> None:
    key = f"repr/{uuid.uuid4().hex}"
    url = _create(server, key, len(BODY))
    parts = urlsplit(url)  # requests cannot send trailers: HTTP/1.1 by hand
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    conn.putrequest("PATCH", parts.path)
    for name, value in {
        **TUS,
        "Content-Type": "application/offset+octet-stream",
        "Upload-Offset": "0",
        "Transfer-Encoding": "chunked",
        "Trailer": "Repr-Digest",
    }.items():
        conn.putheader(name, value)
    conn.endheaders()
    conn.send(b"%x\r\n%s\r\n" % (len(BODY), BODY))
    conn.send(f"0\r\nRepr-Digest: {_digest(BODY)}\r\n\r\n".encode())
    answer = conn.getresponse()
    answer.read()
    conn.close()
    assert answer.status == 204
    assert requests.get(f"{server.url}/blobs/{key}", timeout=10).content == BODY
