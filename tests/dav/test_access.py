"""Who may do what over WebDAV: Basic with a token, roles, presigned URLs, quotas, the switch."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from blobstream.auth.presign import presign_url
from tests.dav.conftest import READ, SECRET, WRITE, DavServer
from tests.support import Server


def test_no_token_is_asked_for_basic(dav_server: DavServer) -> None:
    for method in ("PROPFIND", "GET", "PUT", "OPTIONS"):
        r = requests.request(method, dav_server.dav, timeout=30)
        assert r.status_code == 401, (method, r.text)
        assert r.headers["WWW-Authenticate"].startswith("Basic ")
        assert r.headers["Content-Type"] == "application/problem+json"
    bad = requests.request("PROPFIND", dav_server.dav, auth=("u", "wrong"), timeout=30)
    assert bad.status_code == 401
    # A Bearer token works as on the REST API
    bearer = requests.request(
        "PROPFIND", dav_server.dav, headers={"Authorization": f"Bearer {READ}", "Depth": "0"}
    )
    assert bearer.status_code == 207


def test_a_read_token_reads_and_cannot_write(dav_server: DavServer) -> None:
    top = f"a-{uuid.uuid4().hex[:10]}"
    writer = dav_server.session(WRITE)
    assert writer.put(f"{dav_server.url}/blobs/{top}/r", data=b"r", timeout=30).status_code == 201
    reader = dav_server.session(READ)
    listing = reader.request("PROPFIND", f"{dav_server.dav}{top}/", headers={"Depth": "1"})
    assert listing.status_code == 207
    assert reader.get(f"{dav_server.dav}{top}/r", timeout=30).content == b"r"
    lock = '<D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope></D:lockinfo>'
    for method, extra in (
        ("PUT", {"data": b"w"}),
        ("DELETE", {}),
        ("MKCOL", {}),
        ("PROPPATCH", {"data": b"<x/>"}),
        ("LOCK", {"data": lock}),
        ("MOVE", {"headers": {"Destination": f"{dav_server.dav}{top}/z"}}),
        ("COPY", {"headers": {"Destination": f"{dav_server.dav}{top}/z"}}),
    ):
        r = reader.request(method, f"{dav_server.dav}{top}/r", timeout=30, **extra)
        assert r.status_code == 403, (method, r.text)
    assert writer.get(f"{dav_server.url}/blobs/{top}/r", timeout=30).content == b"r"


def test_presigned_urls_work_on_dav_paths(dav_server: DavServer) -> None:
    top = f"p-{uuid.uuid4().hex[:10]}"
    writer = dav_server.session(WRITE)
    assert writer.put(f"{dav_server.url}/blobs/{top}/s", data=b"signed", timeout=30).ok
    url = presign_url(dav_server.url, f"{top}/s", "GET", 60, SECRET.encode())
    dav_url = url.replace("/blobs/", "/dav/", 1)
    assert requests.get(dav_url, timeout=30).content == b"signed"
    other = dav_url.replace(f"{top}/s", f"{top}/t")
    assert requests.get(other, timeout=30).status_code in (401, 403)


def test_a_reader_never_sees_a_torn_blob(dav_server: DavServer) -> None:
    """A REST reader streaming the old version while WebDAV replaces it gets all of it."""
    top = f"t-{uuid.uuid4().hex[:10]}"
    s = dav_server.session(WRITE)
    old, new = b"o" * (8 << 20), b"n" * (8 << 20)
    assert s.request("MKCOL", f"{dav_server.dav}{top}/").status_code == 201
    assert s.put(f"{dav_server.dav}{top}/b", data=old, timeout=60).status_code == 201
    got = s.get(f"{dav_server.url}/blobs/{top}/b", stream=True, timeout=60)
    first = got.raw.read(1 << 20)
    assert s.put(f"{dav_server.dav}{top}/b", data=new, timeout=60).status_code == 204
    assert first + got.raw.read() == old
    assert s.get(f"{dav_server.dav}{top}/b", timeout=60).content == new


@pytest.fixture(scope="module")
def quota_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("dav-quota")
    srv = Server((root / "data").as_uri(), root / "server.log", args=("--quotas", "prefix:q/=1000"))
    with srv:
        yield srv


def test_quotas_apply_and_show(quota_server: Server) -> None:
    dav = quota_server.url + "/dav/"
    assert requests.request("MKCOL", dav + "q/", timeout=30).status_code == 201
    assert requests.put(dav + "q/a", data=b"a" * 600, timeout=30).status_code == 201
    r = requests.request("PROPFIND", dav + "q/", headers={"Depth": "0"}, timeout=30)
    assert b"quota-used-bytes>600<" in r.content and b"quota-available-bytes>400<" in r.content
    refused = requests.put(dav + "q/b", data=b"b" * 600, timeout=30)
    assert refused.status_code == 507
    assert refused.headers["Content-Type"] == "application/problem+json"
    copied = requests.request("COPY", dav + "q/a", headers={"Destination": dav + "q/c"})
    assert copied.status_code == 507
    assert requests.get(quota_server.url + "/blobs?prefix=q/").json()["blobs"][0]["key"] == "q/a"
    assert len(requests.get(quota_server.url + "/blobs?prefix=q/").json()["blobs"]) == 1


def test_dav_can_be_turned_off(tmp_path: Path) -> None:
    srv = Server((tmp_path / "data").as_uri(), tmp_path / "log", env={"BLOBSTREAM_DAV": "0"})
    with srv:
        assert requests.request("PROPFIND", srv.url + "/dav/", timeout=30).status_code == 404
        assert requests.put(srv.url + "/dav/x", data=b"x", timeout=30).status_code in (404, 405)
        assert requests.put(srv.url + "/blobs/x", data=b"x", timeout=30).status_code == 201


def test_many_requests_on_one_connection(dav_server: DavServer) -> None:
    """Keep-alive across DAV methods with bodies: each request gets exactly one answer."""
    s = dav_server.session(WRITE)
    top = f"k-{uuid.uuid4().hex[:10]}"
    assert s.request("MKCOL", f"{dav_server.dav}{top}/").status_code == 201
    body = '<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:allprop/></D:propfind>'
    for i in range(5):
        assert s.put(f"{dav_server.dav}{top}/{i}", data=b"x" * i).status_code == 201
        found = s.request("PROPFIND", f"{dav_server.dav}{top}/", data=body, headers={"Depth": "1"})
        assert found.status_code == 207
        assert found.headers.get("Connection", "").lower() != "close"  # its body was read
        assert s.get(f"{dav_server.dav}{top}/{i}").content == b"x" * i
