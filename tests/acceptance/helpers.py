"""Small tools the acceptance tests share: unique keys, raw HTTP over a socket, problems."""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import socket
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import requests

from tests.support import Server

TIMEOUT = 10.0


def unique(prefix: str = "t") -> str:
    """A key of its own, so tests sharing one server never collide."""
    return f"{prefix}/{uuid.uuid4().hex}"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def put(server: Server, key: str, data: bytes, **headers: str) -> requests.Response:
    return requests.put(f"{server.url}/blobs/{key}", data=data, headers=headers, timeout=TIMEOUT)


def get(server: Server, key: str, **headers: str) -> requests.Response:
    return requests.get(f"{server.url}/blobs/{key}", headers=headers, timeout=TIMEOUT)


def assert_problem(response: requests.Response | RawResponse, status: int) -> dict[str, object]:
    """The response is an RFC 9457 problem with ``status`` and the four members."""
    code = response.status_code if isinstance(response, requests.Response) else response.status
    body = response.content if isinstance(response, requests.Response) else response.body
    assert code == status, (code, body[:500])
    assert response.headers["Content-Type"] == "application/problem+json"
    doc = json.loads(body)
    assert doc["status"] == status
    for member in ("type", "title", "detail"):
        assert isinstance(doc[member], str) and doc[member], doc
    return dict(doc)


@dataclass
class RawResponse:
    status: int
    headers: http.client.HTTPMessage
    body: bytes
    interim: list[int] = field(default_factory=list)


def connect(server: Server, timeout: float = TIMEOUT) -> socket.socket:
    host, port = urlsplit(server.url).hostname, urlsplit(server.url).port
    assert host is not None and port is not None
    return socket.create_connection((host, port), timeout=timeout)


def read_response(sock: socket.socket, method: str = "GET") -> RawResponse:
    """Parse one response from ``sock`` (skipping 1xx), with the socket's timeout."""
    resp = http.client.HTTPResponse(sock, method=method)
    try:
        resp.begin()
        body = resp.read()
        return RawResponse(resp.status, resp.headers, body)
    finally:
        resp.close()


def raw(
    server: Server, request: bytes, method: str = "GET", timeout: float = TIMEOUT
) -> RawResponse:
    """Send ``request`` bytes as they are and read the one response (never hangs)."""
    with connect(server, timeout) as sock:
        sock.sendall(request)
        return read_response(sock, method)


def data_files(root: Path) -> list[Path]:
    """Every blob file of a local store's ``data/*/`` directories."""
    return [p for p in (root / "data").glob("*/*") if p.is_file()]


def tmp_files(root: Path) -> list[str]:
    return os.listdir(root / "tmp")


def list_all(server: Server, prefix: str = "", limit: int = 10000) -> list[dict[str, object]]:
    """Every blob under ``prefix``, following ``next`` cursors."""
    blobs: list[dict[str, object]] = []
    after = ""
    while True:
        r = requests.get(
            f"{server.url}/blobs",
            params={"prefix": prefix, "after": after, "limit": str(limit)},
            timeout=TIMEOUT,
        )
        assert r.status_code == 200, r.text
        doc = r.json()
        blobs.extend(doc["blobs"])
        if doc["next"] is None:
            return blobs
        after = doc["next"]


def storage_root(server: Server) -> Path:
    """The directory of a server's ``file://`` storage."""
    return Path(urlsplit(server.storage).path)
