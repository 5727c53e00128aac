"""Fixtures of the command line tests: a ``Cli`` bound to the shared server."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.helpers import Cli
from tests.support import Server


@pytest.fixture
def cli(server: Server, tmp_path: Path) -> Cli:
    return Cli(server.url, tmp_path / "cache")
