"""``blobstream serve`` with WebDAV on every backend: file, PostgreSQL, S3 (moto).

Each server has a write and a read token, so every client here authenticates
with Basic (any user name, the token as the password) as a file manager would.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import requests

from tests.services import MotoServer, PostgresCluster
from tests.support import Server

WRITE = "dav-write-token"
READ = "dav-read-token"
TOKENS = f"{WRITE}=write,{READ}=read"
BACKENDS = ["file", "postgresql", "s3"]


@dataclass
class DavServer:
    name: str
    server: Server

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
    name: str, tmp: object, postgres: PostgresCluster | None, moto: MotoServer | None
) -> str:
    from pathlib import Path

    assert isinstance(tmp, Path)
    if name == "file":
        return (tmp / "data").as_uri()
    if name == "postgresql":
        assert postgres is not None
        return postgres.new_database()
    assert moto is not None
    return moto.url(moto.new_bucket(), "data", part_size="5MiB")


@pytest.fixture(scope="session", params=BACKENDS)
def dav_server(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    postgres: PostgresCluster,
    moto: MotoServer,
) -> Iterator[DavServer]:
    """One server per backend, shared by the WebDAV tests of that backend."""
    root = tmp_path_factory.mktemp(f"dav-{request.param}")
    storage = storage_for(request.param, root, postgres, moto)
    server = Server(storage, root / "server.log", env={"BLOBSTREAM_TOKENS": TOKENS})
    with server:
        yield DavServer(request.param, server)
