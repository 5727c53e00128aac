"""POST /blobs: server-chosen keys, and HTML-form uploads streamed part by part."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import requests

from tests.acceptance.conftest import LIMIT
from tests.acceptance.helpers import (
    TIMEOUT,
    assert_problem,
    get,
    list_all,
    sha256,
    storage_root,
    tmp_files,
    unique,
)
from tests.support import Server


def test_post_chooses_the_key(server: Server) -> None:
    r = requests.post(
        f"{server.url}/blobs/posted/",
        data=b"posted body",
        timeout=TIMEOUT,
        headers={"Content-Type": "text/plain"},
    )
    assert r.status_code == 201
    doc = r.json()
    assert doc["key"].startswith("posted/")
    assert r.headers["Location"] == f"/blobs/{doc['key']}"
    got = requests.get(server.url + r.headers["Location"], timeout=TIMEOUT)
    assert got.content == b"posted body"
    assert got.headers["Content-Type"] == "text/plain"
    other = requests.post(f"{server.url}/blobs", data=b"again", timeout=TIMEOUT)
    assert other.status_code == 201
    assert other.json()["key"] != doc["key"]


def curl_form(url: str, *fields: str) -> tuple[int, bytes]:
    args = ["curl", "-sS", "-o", "-", "-w", "\n%{http_code}"]
    for f in fields:
        args += ["-F", f]
    run = subprocess.run([*args, url], capture_output=True, timeout=60, check=True)
    body, _, code = run.stdout.rpartition(b"\n")
    return int(code), body


def test_multipart_form_with_curl(server: Server, tmp_path: Path) -> None:
    prefix = unique("form")
    one = os.urandom(3 << 20)
    two = b"second file\r\n--not a boundary\r\n" * 100
    (tmp_path / "one.bin").write_bytes(one)
    (tmp_path / "two.txt").write_bytes(two)
    code, body = curl_form(
        f"{server.url}/blobs/{prefix}/",
        f"first=@{tmp_path / 'one.bin'}",
        "comment=just a text field",
        f"second=@{tmp_path / 'two.txt'};type=text/plain",
    )
    assert code == 201, body
    stored = json.loads(body)["blobs"]
    assert [b["key"] for b in stored] == [f"{prefix}/one.bin", f"{prefix}/two.txt"]
    assert [b["sha256"] for b in stored] == [sha256(one), sha256(two)]
    assert get(server, f"{prefix}/one.bin").content == one
    r = get(server, f"{prefix}/two.txt")
    assert r.content == two
    assert r.headers["Content-Type"] == "text/plain"
    assert [b["key"] for b in list_all(server, prefix + "/")] == [
        f"{prefix}/one.bin",
        f"{prefix}/two.txt",
    ]


def test_multipart_over_the_limit_is_413(limited: Server, tmp_path: Path) -> None:
    prefix = unique("form")
    (tmp_path / "big.bin").write_bytes(b"b" * (LIMIT + 1))
    code, body = curl_form(f"{limited.url}/blobs/{prefix}/", f"f=@{tmp_path / 'big.bin'}")
    assert code == 413
    assert json.loads(body)["status"] == 413
    assert get(limited, f"{prefix}/big.bin").status_code == 404
    assert list_all(limited, prefix + "/") == []
    assert tmp_files(storage_root(limited)) == []


def test_broken_multipart_is_400(limited: Server) -> None:
    prefix = unique("form")
    url = f"{limited.url}/blobs/{prefix}/"
    truncated = (
        b"--XyZ\r\nContent-Disposition: form-data; name=f; filename=a.bin\r\n\r\n"
        b"some bytes but no closing boundary"
    )
    cases = [
        ("multipart/form-data; boundary=XyZ", truncated),
        ("multipart/form-data", b"--XyZ--\r\n"),
        ("multipart/form-data; boundary=XyZ", b"garbage without any boundary at all"),
        ("multipart/form-data; boundary=XyZ", b"--XyZ--\r\n"),
    ]
    for content_type, body in cases:
        r = requests.post(url, data=body, headers={"Content-Type": content_type}, timeout=TIMEOUT)
        assert_problem(r, 400)
    assert list_all(limited, prefix + "/") == []
    assert tmp_files(storage_root(limited)) == []
