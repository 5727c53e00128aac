"""A real ``blobstream serve --s3-port`` per backend, and clients signed for it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from tests.services import MotoServer, PostgresCluster
from tests.support import Server, free_port

ADMIN = ("AKIDADMIN", "admin-secret-0123456789")
READER = ("AKIDREADER", "reader-secret-0123456789")
ALT = ("AKIDALT", "alt-secret-0123456789")
CREDENTIALS = ",".join(f"{ak}:{sk}:{role}" for (ak, sk), role in
                       ((ADMIN, "admin"), (READER, "read"), (ALT, "write")))  # fmt: skip
REGION = "us-east-1"


@dataclass
class S3Server:
    """A server with its REST URL, its S3 endpoint and the backend it stores on."""

    backend: str
    server: Server
    endpoint: str
    clients: dict[str, Any] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.server.url

    def client(self, key: tuple[str, str] = ADMIN, **config: Any) -> Any:
        """A boto3 client (kept for the session and closed with it: sockets stay pooled)."""
        name = f"{key!r}:{sorted(config.items())!r}"
        if name not in self.clients:
            self.clients[name] = self._client(key, **config)
        return self.clients[name]

    def close(self) -> None:
        for client in self.clients.values():
            client.close()
        self.clients.clear()

    def _client(self, key: tuple[str, str], **config: Any) -> Any:
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=key[0],
            aws_secret_access_key=key[1],
            region_name=REGION,
            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}, **config),
        )


def start(storage: str, root: Path, backend: str, *args: str) -> S3Server:
    port = free_port()
    server = Server(
        storage,
        root / "server.log",
        args=("--s3-port", str(port), *args),
        env={"BLOBSTREAM_S3_CREDENTIALS": CREDENTIALS},
    )
    server.start()
    return S3Server(backend, server, f"http://127.0.0.1:{port}")


@pytest.fixture(scope="session", params=["file", "postgresql", "s3"])
def s3(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[S3Server]:
    """One S3-enabled server per backend, shared by the tests of this directory."""
    root = tmp_path_factory.mktemp(f"s3api-{request.param}")
    if request.param == "file":
        storage = (root / "data").as_uri()
    elif request.param == "postgresql":
        postgres: PostgresCluster = request.getfixturevalue("postgres")
        storage = postgres.new_database()
    else:
        moto: MotoServer = request.getfixturevalue("moto")
        storage = moto.url(moto.new_bucket(), "data", part_size="5MiB")
    srv = start(storage, root, request.param)
    try:
        yield srv
    finally:
        srv.close()
        srv.server.stop()


@pytest.fixture
def bucket(s3: S3Server, request: pytest.FixtureRequest) -> str:
    """A new bucket for one test."""
    name = "t-" + request.node.name.lower().replace("_", "-").replace("[", "-").replace("]", "")
    name = "".join(c for c in name if c.isalnum() or c == "-")[:40].rstrip("-")
    name += "-" + uuid.uuid4().hex[:8]
    s3.client().create_bucket(Bucket=name)
    return name
