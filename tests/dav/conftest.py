"""``blobstream serve`` with WebDAV on every backend: file, PostgreSQL, S3 (moto).

Each server has a write and a read token, so every client here authenticates
with Basic (any user name, the token as the password) as a file manager would.
"""

from __future__ import annotations

import shutil
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.services import MotoServer, PostgresCluster
from tests.support import Server

WRITE = "dav-write-token"
READ = "dav-read-token"
TOKENS = f"{WRITE}=write,{READ}=read"
SECRET = "dav-presign-secret"
ENV = {"BLOBSTREAM_TOKENS": TOKENS, "BLOBSTREAM_SECRET": SECRET}
BACKENDS = ["file", "postgresql", "s3"]


@dataclass
class DavServer:
    name: str
    server: Server
    litmus: subprocess.Popen[str] | None = None  # started with the server (test_litmus.py)

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def dav(self) -> str:
        return self.server.url + "/dav/"

    def session(self, token: str = WRITE) -> requests.Session:
        s = requests.Session()
        s.auth = ("anyone", token)
        return s


def storage_for(
    name: str, tmp: Path, postgres: PostgresCluster | None, moto: MotoServer | None
) -> str:
    if name == "file":
        return (tmp / "data").as_uri()
    if name == "postgresql":
        assert postgres is not None
        return postgres.new_database()
    assert moto is not None
    return moto.url(moto.new_bucket(), "data", part_size="5MiB")


@pytest.fixture(scope="session")
def dav_servers(
    tmp_path_factory: pytest.TempPathFactory, postgres: PostgresCluster, moto: MotoServer
) -> Iterator[dict[str, DavServer]]:
    """One server per backend, all running at once, each with litmus started on it.

    litmus spends its time waiting on round trips: it runs beside the other
    tests, and ``test_litmus.py`` only collects what it found."""
    servers = {}
    for name in BACKENDS:
        root = tmp_path_factory.mktemp(f"dav-{name}")
        storage = storage_for(name, root, postgres, moto)
        server = Server(storage, root / "server.log", env=ENV)
        servers[name] = DavServer(name, server.start(wait=False))
    try:
        for dav in servers.values():
            dav.server.wait_ready()
            dav.litmus = start_litmus(dav, tmp_path_factory.mktemp(f"litmus-{dav.name}"))
        yield servers
    finally:
        for dav in servers.values():
            run = dav.litmus
            if run is not None and run.stdout is not None and not run.stdout.closed:
                if run.poll() is None:
                    run.kill()  # not waited for by a test (a selection without test_litmus)
                run.communicate()
            dav.server.stop()


def start_litmus(dav: DavServer, cwd: Path) -> subprocess.Popen[str]:
    """litmus on a collection of its own (it works under ``<base>litmus/`` and cleans up)."""
    litmus = shutil.which("litmus")
    assert litmus, "litmus is not installed (scripts/system-deps.sh installs it)"
    base = f"{dav.dav}litmus-{uuid.uuid4().hex[:8]}/"
    made = dav.session().request("MKCOL", base, timeout=30)
    assert made.status_code == 201, made.text
    return subprocess.Popen(
        [litmus, "--keep-going", base, "anyone", WRITE],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@pytest.fixture(params=BACKENDS)
def dav_server(request: pytest.FixtureRequest, dav_servers: dict[str, DavServer]) -> DavServer:
    """The server of one backend, shared by the WebDAV tests of that backend."""
    return dav_servers[request.param]
