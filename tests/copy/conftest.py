"""Servers for the copy tests: one per backend (local, PostgreSQL, S3), shared by a module."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator

import psutil
import pytest
import requests

from tests.services import MotoServer, PostgresCluster
from tests.support import Server

TIMEOUT = 60


def storage_for(name: str, request: pytest.FixtureRequest, root: str) -> str:
    if name == "postgresql":
        cluster: PostgresCluster = request.getfixturevalue("postgres")
        return cluster.new_database()
    if name == "s3":
        moto: MotoServer = request.getfixturevalue("moto")
        return moto.url(moto.new_bucket(), "data", part_size="5MiB")
    return f"{root}/data"


@pytest.fixture(scope="module", params=["local", "postgresql", "s3"])
def backend_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    root = tmp_path_factory.mktemp(f"copy-{request.param}")
    storage = storage_for(request.param, request, root.as_uri())
    with Server(storage, root / "server.log") as srv:
        yield srv


def traffic(server: Server) -> int:
    """Body bytes the server received plus sent, over every route, from /metrics."""
    text = requests.get(f"{server.url}/metrics", timeout=TIMEOUT).text
    found = re.findall(r"^blobstream_bytes_(?:in|out)_total\{[^}]*\} ([0-9.e+]+)$", text, re.M)
    return int(sum(float(value) for value in found))


class PeakRSS:
    """Samples the resident memory of a server (master and workers) on a thread."""

    def __init__(self, server: Server) -> None:
        assert server.proc is not None
        self.master = psutil.Process(server.proc.pid)
        self.start = self.peak = self.sample()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def sample(self) -> int:
        procs = [self.master, *self.master.children(recursive=True)]
        total = 0
        for proc in procs:
            try:
                total += proc.memory_info().rss
            except psutil.NoSuchProcess:
                continue
        return total

    def run(self) -> None:
        while not self.stop.wait(0.02):
            self.peak = max(self.peak, self.sample())

    def __enter__(self) -> PeakRSS:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()
        self.peak = max(self.peak, self.sample())

    @property
    def growth(self) -> int:
        return self.peak - self.start
