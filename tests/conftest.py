"""Shared fixtures: a real ``blobstream serve`` process; no test may be skipped."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import Server

pytest_plugins = ["tests.services"]


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    skipped = terminalreporter.stats.get("skipped", [])
    if skipped:
        terminalreporter.write_line(
            f"{len(skipped)} test(s) skipped: a skip hides a failure; make test fails.", red=True
        )


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None and reporter.stats.get("skipped") and exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server on a local store shared by the tests that only need a running API."""
    root = tmp_path_factory.mktemp("server")
    srv = Server((root / "data").as_uri(), root / "server.log")
    with srv:
        yield srv


@pytest.fixture
def fresh_server(tmp_path: Path) -> Iterator[Server]:
    """A server of its own, for tests that restart, kill or fill it."""
    srv = Server((tmp_path / "data").as_uri(), tmp_path / "server.log")
    with srv:
        yield srv


@pytest.fixture(scope="session")
def tus_js() -> Path:
    """tests/js with tus-js-client installed from its lock file (as ``make tests-js`` does)."""
    js_dir = Path(__file__).resolve().parent / "js"
    if not (js_dir / "node_modules" / "tus-js-client").is_dir():
        subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund", "--prefix", str(js_dir)],
            check=True,
            capture_output=True,
        )
    return js_dir
