"""Raw tus 1.0 requests for the protocol tests."""

from __future__ import annotations

import base64
import hashlib

import requests

TUS = {"Tus-Resumable": "1.0.0"}
CHUNK = {**TUS, "Content-Type": "application/offset+octet-stream"}


def metadata(**values: str) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in values.items())


def create(base: str, length: int | None, **headers: str) -> requests.Response:
    sent = {**TUS, **headers}
    if length is not None:
        sent["Upload-Length"] = str(length)
    r = requests.post(base + "/uploads", headers=sent, timeout=30)
    r.close()
    return r


def new_upload(base: str, length: int | None, key: str | None = None, **headers: str) -> str:
    if key is not None:
        headers["Upload-Metadata"] = metadata(key=key)
    r = create(base, length, **headers)
    assert r.status_code == 201, r.text
    return r.headers["Location"]


def patch(url: str, offset: int | str, body: bytes, **headers: str) -> requests.Response:
    r = requests.patch(
        url, headers={**CHUNK, "Upload-Offset": str(offset), **headers}, data=body, timeout=60
    )
    r.close()
    return r


def head(url: str, **headers: str) -> requests.Response:
    r = requests.head(url, headers={**TUS, **headers}, timeout=30)
    r.close()
    return r


def checksum(algorithm: str, data: bytes) -> str:
    return f"{algorithm} {base64.b64encode(hashlib.new(algorithm, data).digest()).decode()}"


def blob(base: str, key: str) -> requests.Response:
    r = requests.get(f"{base}/blobs/{key}", timeout=60)
    r.close()
    return r
