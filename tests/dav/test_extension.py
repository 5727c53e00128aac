"""WebDAV in a Flask app that mounts the extension: under the API's prefix, or off."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from blobstream.server.extension import Blobstream


def app_with(tmp_path: Path, **config: object) -> Flask:
    app = Flask("host")
    app.config.update(BLOBSTREAM_STORAGE=(tmp_path / "data").as_uri(), **config)
    Blobstream(app)
    return app


def test_dav_sits_under_the_url_prefix(tmp_path: Path) -> None:
    client = app_with(tmp_path, BLOBSTREAM_URL_PREFIX="/api").test_client()
    assert client.open("/api/dav/a/", method="MKCOL").status_code == 201
    made = client.put("/api/dav/a/x", data=b"hello")
    assert made.status_code == 201 and made.json is not None and made.json["key"] == "a/x"
    assert client.get("/api/blobs/a/x").data == b"hello"
    listing = client.open("/api/dav/a/", method="PROPFIND", headers={"Depth": "1"})
    assert listing.status_code == 207
    assert b"<ns0:href>/api/dav/a/x</ns0:href>" in listing.data
    moved = client.open(
        "/api/dav/a/x", method="MOVE", headers={"Destination": "http://localhost/api/dav/a/y"}
    )
    assert moved.status_code == 201
    assert client.get("/api/blobs/a/y").data == b"hello"


def test_dav_can_be_left_off(tmp_path: Path) -> None:
    client = app_with(tmp_path, BLOBSTREAM_DAV=False).test_client()
    assert client.open("/dav/", method="PROPFIND").status_code in (404, 405)
