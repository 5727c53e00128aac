"""What operators see: /healthz, /metrics across workers, /openapi.json."""

from __future__ import annotations

import time
from pathlib import Path

import requests
from openapi_spec_validator import validate
from prometheus_client.parser import text_string_to_metric_families

from tests.acceptance.helpers import TIMEOUT
from tests.support import Server


def test_healthz(server: Server) -> None:
    r = requests.get(f"{server.url}/healthz", timeout=TIMEOUT)
    assert r.status_code == 200
    assert r.json()["status"] == "ok"


def workers(master: int, expected: int = 2) -> list[int]:
    """The master's worker pids, once it has started ``expected`` of them (or 10 s passed)."""
    deadline = time.monotonic() + 10
    while True:
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
        if len(children) >= expected or time.monotonic() > deadline:
            return [int(pid) for pid in children]
        time.sleep(0.1)


def has_served(pid: int) -> bool:
    """A worker maps its metrics file once it has counted a request."""
    return "blobstream-metrics-" in Path(f"/proc/{pid}/maps").read_text()


def requests_counted(server: Server, route: str) -> float:
    text = requests.get(f"{server.url}/metrics", timeout=TIMEOUT).text
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        if family.name == "blobstream_requests"
        for sample in family.samples
        if sample.name == "blobstream_requests_total" and sample.labels["route"] == route
    )


def test_metrics_count_requests_of_every_worker(fresh_server: Server) -> None:
    assert fresh_server.proc is not None
    pids = workers(fresh_server.proc.pid)
    assert len(pids) == 2
    made = 0
    while not all(has_served(pid) for pid in pids):
        assert made < 400, "one worker never served a request"
        # A new connection each time: either worker may accept it.
        r = requests.get(f"{fresh_server.url}/blobs/metrics/{made}", timeout=TIMEOUT)
        assert r.status_code == 404
        made += 1
    # Both workers have now counted requests (the start-up /healthz probe counts
    # too): the sum /metrics shows must be read from both of their files.
    assert made >= 1
    assert requests_counted(fresh_server, "/blobs/<blobkey:key>") == made


def test_openapi_is_valid_openapi_3_1(server: Server) -> None:
    r = requests.get(f"{server.url}/openapi.json", timeout=TIMEOUT)
    assert r.status_code == 200
    doc = r.json()
    assert doc["openapi"].startswith("3.1")
    validate(doc)
    paths = doc["paths"]
    for path in ("/blobs/{key}", "/blobs", "/healthz", "/metrics"):
        assert path in paths, sorted(paths)
    assert {"put", "get", "head", "delete"} <= set(paths["/blobs/{key}"])
