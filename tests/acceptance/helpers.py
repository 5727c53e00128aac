"""Small tools the acceptance tests share: unique keys, raw HTTP over a socket, problems."""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import json
import os
import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO
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


@contextlib.contextmanager
def connect(server: Server, timeout: float = TIMEOUT) -> Iterator[socket.socket]:
    """A raw connection to ``server``; closed (with its reader) on exit."""
    host, port = urlsplit(server.url).hostname, urlsplit(server.url).port
    assert host is not None and port is not None
    sock = socket.create_connection((host, port), timeout=timeout)
    try:
        yield sock
    finally:
        reader = _readers.pop(sock, None)
        if reader is not None:
            reader.close()
        sock.close()


class _Unclosable:
    """The socket's one buffered reader, lent to each response in turn."""

    def __init__(self, reader: BinaryIO) -> None:
        self._reader = reader

    def __getattr__(self, name: str) -> Any:
        return getattr(self._reader, name)

    def close(self) -> None:
        pass

    def makefile(self, *args: Any, **kwargs: Any) -> _Unclosable:
        return self


_readers: dict[socket.socket, BinaryIO] = {}


def read_response(sock: socket.socket, method: str = "GET") -> RawResponse:
    """Parse one response from ``sock`` (skipping 1xx), with the socket's timeout.

    All responses of one socket are read through one buffered reader, so a
    second response is not lost in the first one's buffer.
    """
    reader = _readers.get(sock)
    if reader is None:
        reader = _readers[sock] = sock.makefile("rb")
    resp = http.client.HTTPResponse(_Unclosable(reader), method=method)  # type: ignore[arg-type]
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
