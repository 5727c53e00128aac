"""One store, two dialects: what REST writes WebDAV serves and the other way round."""

from __future__ import annotations

import hashlib
import os
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator

import requests

from tests.dav.conftest import DavServer

DAV = "{DAV:}"


def propfind(s: requests.Session, url: str, depth: str = "1") -> dict[str, dict[str, str]]:
    """href -> {property local name: text} of a PROPFIND allprop."""
    r = s.request("PROPFIND", url, headers={"Depth": depth}, timeout=30)
    assert r.status_code == 207, r.text
    found = {}
    for response in ET.fromstring(r.content).iter(f"{DAV}response"):
        href = response.findtext(f"{DAV}href")
        assert href is not None
        props = {}
        for propstat in response.iter(f"{DAV}propstat"):
            if "200" not in (propstat.findtext(f"{DAV}status") or ""):
                continue
            for prop in propstat.iter(f"{DAV}prop"):
                for child in prop:
                    collection = child.find(f"{DAV}collection") is not None
                    props[child.tag.removeprefix(DAV)] = (
                        "collection" if collection else (child.text or "")
                    )
        found[href] = props
    return found


def unique() -> str:
    return f"i-{uuid.uuid4().hex[:10]}"


def test_rest_put_is_served_over_dav(dav_server: DavServer) -> None:
    s = dav_server.session()
    top = unique()
    body = os.urandom(100_000)
    r = s.put(f"{dav_server.url}/blobs/{top}/sub/a.bin", data=body, timeout=30)
    assert r.status_code == 201
    etag = r.headers["ETag"]
    listing = propfind(s, f"{dav_server.dav}{top}/sub/")
    props = listing[f"/dav/{top}/sub/a.bin"]
    assert props["getcontentlength"] == str(len(body))
    assert f'"{props["getetag"]}"' == etag or props["getetag"] == etag
    assert props["resourcetype"] == ""
    assert props["displayname"] == "a.bin"
    assert props["getcontenttype"] == "application/octet-stream"
    assert {"getlastmodified", "creationdate"} <= props.keys()
    assert listing[f"/dav/{top}/sub/"]["resourcetype"] == "collection"
    assert propfind(s, f"{dav_server.dav}{top}/")[f"/dav/{top}/sub/"]["resourcetype"] == (
        "collection"
    )
    got = s.get(f"{dav_server.dav}{top}/sub/a.bin", timeout=30)
    assert got.status_code == 200 and got.content == body
    assert got.headers["ETag"] == etag
    part = s.get(f"{dav_server.dav}{top}/sub/a.bin", headers={"Range": "bytes=10-19"}, timeout=30)
    assert part.status_code == 206 and part.content == body[10:20]


def chunks(data: bytes, size: int = 7000) -> Iterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


def test_dav_writes_are_blobs(dav_server: DavServer) -> None:
    s = dav_server.session()
    top = unique()
    assert s.request("MKCOL", f"{dav_server.dav}{top}/", timeout=30).status_code == 201
    body = os.urandom(50_000)
    made = s.put(f"{dav_server.dav}{top}/x.bin", data=body, timeout=30)
    assert made.status_code == 201 and made.headers["ETag"]
    # Chunked (macOS Finder sends bodies so) replaces it: 204
    replaced = s.put(f"{dav_server.dav}{top}/x.bin", data=chunks(body[::-1]), timeout=30)
    assert replaced.status_code == 204
    rest = requests.get(f"{dav_server.url}/blobs/{top}/x.bin", auth=s.auth, timeout=30)
    assert rest.content == body[::-1]
    assert rest.headers["Repr-Digest"]
    stat = s.get(f"{dav_server.url}/blobs", params={"prefix": f"{top}/"}, timeout=30).json()
    assert [b["key"] for b in stat["blobs"]] == [f"{top}/x.bin"]
    assert stat["blobs"][0]["sha256"] == hashlib.sha256(body[::-1]).hexdigest()


def test_parent_must_exist_and_empty_collections_are_kept(dav_server: DavServer) -> None:
    s = dav_server.session()
    top = unique()
    assert s.put(f"{dav_server.dav}{top}/no/x", data=b"x", timeout=30).status_code == 409
    assert s.request("MKCOL", f"{dav_server.dav}{top}/", timeout=30).status_code == 201
    assert s.request("MKCOL", f"{dav_server.dav}{top}/empty/", timeout=30).status_code == 201
    assert s.request("MKCOL", f"{dav_server.dav}{top}/empty/", timeout=30).status_code == 405
    listing = propfind(s, f"{dav_server.dav}{top}/")
    assert listing[f"/dav/{top}/empty/"]["resourcetype"] == "collection"
    assert s.delete(f"{dav_server.dav}{top}/", timeout=30).status_code == 204
    assert s.request("PROPFIND", f"{dav_server.dav}{top}/", timeout=30).status_code == 404


def test_move_renames_a_prefix_and_copy_stays_in_the_store(dav_server: DavServer) -> None:
    s = dav_server.session()
    top = unique()
    assert s.request("MKCOL", f"{dav_server.dav}{top}/", timeout=30).status_code == 201
    assert s.request("MKCOL", f"{dav_server.dav}{top}/src/", timeout=30).status_code == 201
    assert s.request("MKCOL", f"{dav_server.dav}{top}/src/e/", timeout=30).status_code == 201
    for name in ("a", "b/c", "b/d"):
        r = s.put(f"{dav_server.url}/blobs/{top}/src/{name}", data=name.encode(), timeout=30)
        assert r.status_code == 201
    dest = {"Destination": f"{dav_server.dav}{top}/dst/"}
    assert (
        s.request("COPY", f"{dav_server.dav}{top}/src/", headers=dest, timeout=30).status_code
        == 201
    )
    moved = s.request(
        "MOVE",
        f"{dav_server.dav}{top}/src/",
        headers={"Destination": f"{dav_server.dav}{top}/moved/"},
        timeout=30,
    )
    assert moved.status_code == 201
    keys = [
        b["key"]
        for b in s.get(f"{dav_server.url}/blobs", params={"prefix": f"{top}/"}).json()["blobs"]
    ]
    assert keys == [f"{top}/{d}/{n}" for d in ("dst", "moved") for n in ("a", "b/c", "b/d")]
    assert s.get(f"{dav_server.url}/blobs/{top}/moved/b/c", timeout=30).content == b"b/c"
    listing = propfind(s, f"{dav_server.dav}{top}/moved/")
    assert listing[f"/dav/{top}/moved/e/"]["resourcetype"] == "collection"  # the empty one moved
    assert s.request("PROPFIND", f"{dav_server.dav}{top}/src/", timeout=30).status_code == 404
    over = s.request(
        "COPY",
        f"{dav_server.dav}{top}/moved/a",
        headers={"Destination": f"{dav_server.dav}{top}/dst/a", "Overwrite": "F"},
        timeout=30,
    )
    assert over.status_code == 412


def test_dead_properties_and_x_oc_mtime(dav_server: DavServer) -> None:
    s = dav_server.session()
    top = unique()
    assert s.request("MKCOL", f"{dav_server.dav}{top}/", timeout=30).status_code == 201
    r = s.put(
        f"{dav_server.dav}{top}/m", data=b"m", headers={"X-OC-Mtime": "1000000000"}, timeout=30
    )
    assert r.status_code == 201 and r.headers["X-OC-Mtime"] == "accepted"
    props = propfind(s, f"{dav_server.dav}{top}/m", depth="0")[f"/dav/{top}/m"]
    assert props["getlastmodified"] == "Sun, 09 Sep 2001 01:46:40 GMT"
    patch = (
        '<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:x">'
        "<D:set><D:prop><Z:colour>blue</Z:colour></D:prop></D:set></D:propertyupdate>"
    )
    assert (
        s.request("PROPPATCH", f"{dav_server.dav}{top}/m", data=patch, timeout=30).status_code
        == 207
    )
    found = s.request("PROPFIND", f"{dav_server.dav}{top}/m", headers={"Depth": "0"}, timeout=30)
    assert b"blue" in found.content
    # A new version over REST is not the one the client dated.
    assert s.put(f"{dav_server.url}/blobs/{top}/m", data=b"n", timeout=30).status_code == 200
    props = propfind(s, f"{dav_server.dav}{top}/m", depth="0")[f"/dav/{top}/m"]
    assert props["getlastmodified"] != "Sun, 09 Sep 2001 01:46:40 GMT"


def test_locks_hold_across_workers(dav_server: DavServer) -> None:
    """The server has two workers: a lock taken through one binds requests to any."""
    s = dav_server.session()
    top = unique()
    assert s.request("MKCOL", f"{dav_server.dav}{top}/", timeout=30).status_code == 201
    lock = (
        '<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/>'
        "</D:lockscope><D:locktype><D:write/></D:locktype></D:lockinfo>"
    )
    r = s.request("LOCK", f"{dav_server.dav}{top}/f", data=lock, timeout=30)
    assert r.status_code in (200, 201), r.text
    token = r.headers["Lock-Token"]
    for _ in range(6):  # new connections: the requests land on either worker
        fresh = requests.put(f"{dav_server.dav}{top}/f", data=b"x", auth=s.auth, timeout=30)
        assert fresh.status_code == 423
    ok = s.put(f"{dav_server.dav}{top}/f", data=b"y", headers={"If": f"({token})"}, timeout=30)
    assert ok.status_code == 204
    assert (
        s.request("UNLOCK", f"{dav_server.dav}{top}/f", headers={"Lock-Token": token}).status_code
        == 204
    )
    assert (
        requests.put(f"{dav_server.dav}{top}/f", data=b"z", auth=s.auth, timeout=30).status_code
        == 204
    )


def test_refusals_are_problem_documents_or_dav_conditions(dav_server: DavServer) -> None:
    s = dav_server.session()
    missing = s.request("MKCOL", f"{dav_server.dav}{unique()}/a/b/", timeout=30)
    assert missing.status_code == 409
    assert missing.headers["Content-Type"] == "application/problem+json"
    assert missing.json()["status"] == 409
    gone = s.request("PROPFIND", f"{dav_server.dav}{unique()}", headers={"Depth": "0"})
    assert gone.status_code == 404 and gone.json()["status"] == 404
    # A listing of the whole tree would be built in memory: refused with RFC 4918's element.
    deep = s.request("PROPFIND", dav_server.dav, headers={"Depth": "infinity"}, timeout=30)
    assert deep.status_code == 403 and b"propfind-finite-depth" in deep.content
    top = unique()
    assert s.put(f"{dav_server.url}/blobs/{top}", data=b"x", timeout=30).status_code == 201
    alone = s.request("PROPFIND", f"{dav_server.dav}{top}", timeout=30)  # no Depth: a blob
    assert alone.status_code == 207
