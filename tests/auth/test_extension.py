"""The Flask extension's presigned URLs, in a developer's own app."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from blobstream.server.extension import Blobstream
from blobstream.server.state import EXTENSION_KEY


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    app = Flask("devapp")
    app.config.update(
        BLOBSTREAM_STORAGE=(tmp_path / "data").as_uri(),
        BLOBSTREAM_SECRET="dev-secret",
        BLOBSTREAM_TOKENS="dev-token=read",
        BLOBSTREAM_URL_PREFIX="/api",
    )
    Blobstream(app)

    @app.get("/hello")
    def hello() -> str:
        return "hi"

    yield app
    app.extensions[EXTENSION_KEY].store.close()


def test_presigned_url_from_the_extension_grants_get(app: Flask) -> None:
    client = app.test_client()
    with app.test_request_context(base_url="http://dev.example"):
        url = Blobstream.presigned_url("docs/a.txt", "GET", 60)
    assert url.startswith("http://dev.example/api/blobs/docs/a.txt?")
    path = url.removeprefix("http://dev.example")
    assert client.get(path).status_code == 404  # authorized; the blob does not exist
    assert client.get("/api/blobs/docs/a.txt").status_code == 401
    assert client.delete(path).status_code == 403


def test_the_apps_own_routes_are_left_alone(app: Flask) -> None:
    assert app.test_client().get("/hello").text == "hi"
