"""The extension in a developer's existing app leaves that app alone (issue 24 §3).

The app keeps its own 404 page, its own error handlers and exception
propagation (debugger, ``PROPAGATE_EXCEPTIONS``, Sentry) for its own routes,
and its own metrics; blobstream's routes still answer every error as
problem+json.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from prometheus_client.parser import text_string_to_metric_families

from blobstream.flask import PROBLEM_JSON, Blobstream
from blobstream.server.state import EXTENSION_KEY


class Teapot(Exception):
    pass


def host_app(tmp_path: Path, **config: object) -> Flask:
    app = Flask("hostapp")
    app.config.update(BLOBSTREAM_STORAGE=(tmp_path / "data").as_uri(), **config)

    @app.errorhandler(404)
    def not_found(_exc: Exception) -> tuple[str, int]:
        return "the host's own 404 page", 404

    @app.errorhandler(Teapot)
    def teapot(_exc: Teapot) -> tuple[str, int]:
        return "the host's own handler", 418

    @app.get("/teapot")
    def brew() -> str:
        raise Teapot

    @app.get("/boom")
    def boom() -> str:
        raise RuntimeError("the host's own bug")

    @app.get("/hello")
    def hello() -> str:
        return "hi"

    Blobstream(app)
    return app


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    app = host_app(tmp_path)
    yield app
    app.extensions[EXTENSION_KEY].store.close()


def test_the_hosts_404_page_and_handlers_stay_its_own(app: Flask) -> None:
    client = app.test_client()
    missing = client.get("/nowhere")
    assert (missing.status_code, missing.text) == (404, "the host's own 404 page")
    assert (client.get("/teapot").status_code, client.get("/teapot").text) == (
        418,
        "the host's own handler",
    )
    hello = client.get("/hello", headers={"Content-Length": "3"}, data=b"abc")
    assert hello.text == "hi"
    assert "X-Request-Id" not in hello.headers and "Connection" not in hello.headers


def test_the_hosts_exceptions_propagate(app: Flask) -> None:
    app.testing = True  # PROPAGATE_EXCEPTIONS, as the debugger and Sentry rely on
    with pytest.raises(RuntimeError, match="the host's own bug"):
        app.test_client().get("/boom")
    app.testing = False
    answer = app.test_client().get("/boom")
    assert answer.status_code == 500 and answer.content_type.startswith("text/html")


def test_blobstream_routes_still_answer_problem_json(app: Flask) -> None:
    client = app.test_client()
    for method, path, status in [
        ("GET", "/blobs/missing", 404),
        ("GET", "/blobs/a/../b", 400),
        ("PROPFIND", "/blobs/a", 405),
        ("PUT", "/blobs", 405),
        ("PATCH", "/uploads/nope", 412),  # no Tus-Resumable
    ]:
        answer = client.open(path, method=method)
        assert (answer.status_code, answer.content_type) == (status, PROBLEM_JSON), path
        assert answer.json is not None and answer.json["status"] == status
    assert client.put("/blobs/a", data=b"abc").status_code == 201
    assert client.get("/blobs/a").data == b"abc"


def test_blobstream_failures_are_logged_problems_not_propagated(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    app = Flask("hostapp")
    app.testing = True
    app.config.update(BLOBSTREAM_STORAGE=(tmp_path / "data").as_uri())
    ext = Blobstream(app)

    @ext.pre_commit
    def buggy(_pending: object) -> None:
        raise RuntimeError("a bug in a pre-commit check")

    try:
        answer = app.test_client().put("/blobs/a", data=b"abc")
        assert (answer.status_code, answer.content_type) == (500, PROBLEM_JSON)
        assert "a bug in a pre-commit check" in caplog.text
    finally:
        app.extensions[EXTENSION_KEY].store.close()


def test_under_a_prefix_everything_below_it_is_blobstreams(tmp_path: Path) -> None:
    app = host_app(tmp_path, BLOBSTREAM_URL_PREFIX="/api")
    try:
        client = app.test_client()
        assert client.get("/nowhere").text == "the host's own 404 page"
        below = client.get("/api/nowhere")
        assert (below.status_code, below.content_type) == (404, PROBLEM_JSON)
        assert client.get("/api/blobs/missing").content_type == PROBLEM_JSON
    finally:
        app.extensions[EXTENSION_KEY].store.close()


def _counted(app: Flask) -> dict[tuple[str, str], float]:
    text = app.test_client().get("/metrics").text
    counted: dict[tuple[str, str], float] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == "blobstream_requests_total":
                key = (s.labels["route"], s.labels["method"])
                counted[key] = counted.get(key, 0) + s.value
    return counted


def test_each_app_has_its_own_registry_and_counts_only_its_own_routes(tmp_path: Path) -> None:
    one, two = host_app(tmp_path / "one"), host_app(tmp_path / "two")
    try:
        for _ in range(3):
            assert one.test_client().put("/blobs/k", data=b"x").status_code in (200, 201)
        one.test_client().get("/hello")
        assert _counted(one)[("/blobs/<blobkey:key>", "PUT")] == 3
        assert ("/hello", "GET") not in _counted(one)
        assert ("/blobs/<blobkey:key>", "PUT") not in _counted(two)
    finally:
        for app in (one, two):
            app.extensions[EXTENSION_KEY].store.close()
