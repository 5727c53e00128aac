"""PostgreSQL (large objects + a metadata table) joins the storage contract."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from blobstream.storage import open_store
from tests.services import PostgresCluster
from tests.storage.contract import BlobStoreContract, UploadStoreContract


@pytest.fixture
def store(postgres: PostgresCluster, postgres_url: str) -> Iterator[Any]:
    s = open_store(postgres_url)
    s.cluster = postgres
    yield s
    s.close()


class PostgresLeftovers:
    def leftovers(self, store: Any) -> list[str]:
        orphans = store.cluster.psql(
            "SELECT oid FROM pg_largeobject_metadata WHERE oid NOT IN"
            " (SELECT loid FROM blobstream_blobs UNION ALL"
            "  SELECT loid FROM blobstream_uploads WHERE loid IS NOT NULL)",
            store.url.rsplit("/", 1)[1],
        )
        return [f"large object {oid}" for oid in orphans.split()]


class TestPostgresStore(PostgresLeftovers, BlobStoreContract):
    big_size = 1 << 30  # past every buffer of the driver and the server: flat RSS shows


class TestPostgresUploads(PostgresLeftovers, UploadStoreContract):
    pass
