"""Servers the acceptance tests share beyond the session-wide ``server``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support import Server

LIMIT = 1 << 20


@pytest.fixture(scope="session")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server of its own with ``--max-size 1M``; its storage holds only these tests' blobs."""
    root = tmp_path_factory.mktemp("limited")
    srv = Server((root / "data").as_uri(), root / "server.log", args=("--max-size", "1M"))
    with srv:
        yield srv
