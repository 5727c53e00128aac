"""``blobstream serve`` on PostgreSQL and on S3 (the session's services), one of each."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.services import MotoServer, PostgresCluster
from tests.support import Server
from tests.tus.conftest import MIB, Payload, _scratch

LIMIT = 48 * MIB


@dataclass
class Backend:
    """A server on one backend, and what that backend keeps that no blob or upload owns."""

    name: str
    server: Server
    storage: str
    postgres: PostgresCluster | None = None
    moto: MotoServer | None = None

    def leftovers(self) -> list[str]:
        if self.postgres is not None:
            orphans = self.postgres.psql(
                "SELECT oid FROM pg_largeobject_metadata WHERE oid NOT IN"
                " (SELECT loid FROM blobstream_blobs UNION ALL"
                "  SELECT loid FROM blobstream_uploads WHERE loid IS NOT NULL)",
                self.storage.rsplit("/", 1)[1],
            )
            return [f"large object {oid}" for oid in orphans.split()]
        assert self.moto is not None
        client = self.moto.client()
        bucket = self.storage.split("/")[2]
        found = [
            f"multipart upload of {u['Key']}"
            for u in client.list_multipart_uploads(Bucket=bucket).get("Uploads", [])
            if "/uploads/" not in u["Key"]
        ]
        for page in client.get_paginator("list_objects_v2").paginate(
            Bucket=bucket, Prefix="data/.staging/"
        ):
            found += [f"staging object {o['Key']}" for o in page.get("Contents", [])]
        return found


@pytest.fixture(scope="session", params=["postgresql", "s3"])
def backend(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    postgres: PostgresCluster,
    moto: MotoServer,
) -> Iterator[Backend]:
    """One server per backend for these tests, with a limit of 48 MiB."""
    root = tmp_path_factory.mktemp(f"backend-{request.param}")
    on_postgres = request.param == "postgresql"
    if on_postgres:
        storage = postgres.new_database()
    else:
        storage = moto.url(moto.new_bucket(), "data", part_size="5MiB")
    server = Server(storage, root / "server.log", args=("--max-size", "48M"))
    with server:
        yield Backend(
            request.param,
            server,
            storage,
            postgres=postgres if on_postgres else None,
            moto=None if on_postgres else moto,
        )


@pytest.fixture(scope="session")
def payload40() -> Iterator[Payload]:
    """40 MiB in memory, every MiB different."""
    size = 40 * MIB
    digest = hashlib.sha256()
    path = Path(_scratch()) / f"blobstream-backends-{os.getpid()}.bin"
    try:
        with path.open("wb") as f:
            for i in range(size // MIB):
                block = hashlib.sha256(i.to_bytes(8, "big")).digest() * (MIB // 32)
                digest.update(block)
                f.write(block)
        yield Payload(path, size, digest.hexdigest())
    finally:
        path.unlink(missing_ok=True)
