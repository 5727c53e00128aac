"""Download while uploading: a reader that follows a tus upload gets exactly its bytes."""

from __future__ import annotations

import base64
import os
import threading
import time
import uuid

import pytest
import requests

from tests.support import Server

TIMEOUT = 30
TUS = {"Tus-Resumable": "1.0.0"}
CHUNK = 256 << 10


def create(server: Server, key: str, length: int) -> str:
    meta = f"key {base64.b64encode(key.encode()).decode()},filetype "
    meta += base64.b64encode(b"text/plain").decode()
    r = requests.post(
        f"{server.url}/uploads",
        headers={**TUS, "Upload-Length": str(length), "Upload-Metadata": meta},
        timeout=TIMEOUT,
    )
    assert r.status_code == 201, r.text
    return r.headers["Location"].rsplit("/", 1)[1]


def patch(server: Server, upload_id: str, offset: int, data: bytes) -> None:
    r = requests.patch(
        f"{server.url}/uploads/{upload_id}",
        headers={
            **TUS,
            "Upload-Offset": str(offset),
            "Content-Type": "application/offset+octet-stream",
        },
        data=data,
        timeout=TIMEOUT,
    )
    assert r.status_code == 204, r.text


class Reader(threading.Thread):
    """GETs a URL with streaming and keeps what arrives, or the error that ended it."""

    def __init__(self, url: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.headers = headers or {}
        self.body = bytearray()
        self.status = 0
        self.content_type = ""
        self.error: Exception | None = None
        self.first = threading.Event()

    def run(self) -> None:
        try:
            with requests.get(
                self.url, headers=self.headers, stream=True, timeout=TIMEOUT
            ) as response:
                self.status = response.status_code
                self.content_type = response.headers.get("Content-Type", "")
                for piece in response.iter_content(None):
                    self.body += piece
                    self.first.set()
        except requests.RequestException as exc:
            self.error = exc
        finally:
            self.first.set()


@pytest.mark.parametrize("opt_in", ["query", "header-id"])
def test_a_follower_gets_exactly_the_bytes_of_a_slow_upload(server: Server, opt_in: str) -> None:
    key = f"follow/{uuid.uuid4().hex}"
    data = os.urandom(8 * CHUNK + 12345)
    upload_id = create(server, key, len(data))
    patch(server, upload_id, 0, data[:CHUNK])
    if opt_in == "query":
        reader = Reader(f"{server.url}/blobs/{key}?follow=1")
    else:
        reader = Reader(f"{server.url}/blobs/{key}", {"Blobstream-Follow": upload_id})
    reader.start()
    assert reader.first.wait(TIMEOUT)
    assert len(reader.body) >= 1  # it streamed before the upload finished
    for offset in range(CHUNK, len(data), CHUNK):
        time.sleep(0.1)
        patch(server, upload_id, offset, data[offset : offset + CHUNK])
    reader.join(TIMEOUT)
    assert not reader.is_alive()
    assert reader.error is None
    assert reader.status == 200
    assert reader.content_type == "text/plain"
    assert bytes(reader.body) == data
    assert requests.get(f"{server.url}/blobs/{key}", timeout=TIMEOUT).content == data


def test_without_the_opt_in_an_unfinished_upload_is_invisible(server: Server) -> None:
    key = f"follow/{uuid.uuid4().hex}"
    upload_id = create(server, key, 100)
    patch(server, upload_id, 0, b"x" * 50)
    assert requests.get(f"{server.url}/blobs/{key}", timeout=TIMEOUT).status_code == 404
    off = requests.get(f"{server.url}/blobs/{key}?follow=0", timeout=TIMEOUT)
    assert off.status_code == 404


def test_a_terminated_upload_cuts_the_follower_short(server: Server) -> None:
    key = f"follow/{uuid.uuid4().hex}"
    upload_id = create(server, key, 4 * CHUNK)
    patch(server, upload_id, 0, b"y" * CHUNK)
    reader = Reader(f"{server.url}/blobs/{key}?follow={upload_id}")
    reader.start()
    assert reader.first.wait(TIMEOUT)
    r = requests.delete(f"{server.url}/uploads/{upload_id}", headers=TUS, timeout=TIMEOUT)
    assert r.status_code == 204
    reader.join(TIMEOUT)
    assert not reader.is_alive()
    assert isinstance(reader.error, requests.exceptions.ChunkedEncodingError)
    assert len(reader.body) <= CHUNK


def test_follow_on_a_finished_blob_serves_it_and_bad_values_are_400(server: Server) -> None:
    key = f"follow/{uuid.uuid4().hex}"
    assert requests.put(f"{server.url}/blobs/{key}", data=b"done", timeout=TIMEOUT).ok
    r = requests.get(f"{server.url}/blobs/{key}?follow=1", timeout=TIMEOUT)
    assert (r.status_code, r.content) == (200, b"done")
    bad = requests.get(f"{server.url}/blobs/{key}?follow=maybe", timeout=TIMEOUT)
    assert bad.status_code == 400
    assert bad.headers["Content-Type"] == "application/problem+json"
    unknown = requests.get(f"{server.url}/blobs/{key}?follow={uuid.uuid4().hex}", timeout=TIMEOUT)
    assert unknown.status_code == 404
