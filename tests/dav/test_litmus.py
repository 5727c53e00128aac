"""litmus (the WebDAV conformance suite) against the server, every default group, every backend.

The three runs start together (a session fixture) and each test waits for its
own: litmus spends its time waiting on round trips, so side by side they take
about as long as the slowest one.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import uuid
from collections.abc import Iterator

import pytest

from tests.dav.conftest import WRITE, DavServer

GROUPS = ("basic", "copymove", "props", "locks", "http")
SUMMARY = re.compile(r"<- summary for `(\w+)': of (\d+) tests run: (\d+) passed, (\d+) failed")


@pytest.fixture(scope="session")
def litmus_runs(
    dav_servers: dict[str, DavServer], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, subprocess.Popen[str]]]:
    litmus = shutil.which("litmus")
    assert litmus, "litmus is not installed (scripts/system-deps.sh installs it)"
    runs = {}
    for name, dav in dav_servers.items():
        # A collection of its own: litmus works under <base>litmus/ and cleans up.
        base = f"{dav.dav}litmus-{uuid.uuid4().hex[:8]}/"
        made = dav.session().request("MKCOL", base, timeout=30)
        assert made.status_code == 201, made.text
        runs[name] = subprocess.Popen(
            [litmus, "--keep-going", base, "anyone", WRITE],
            cwd=tmp_path_factory.mktemp(f"litmus-{name}"),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
    try:
        yield runs
    finally:
        for run in runs.values():
            if run.poll() is None:
                run.kill()
            run.communicate()


def test_litmus_passes_every_group(
    dav_server: DavServer, litmus_runs: dict[str, subprocess.Popen[str]]
) -> None:
    out, _ = litmus_runs[dav_server.name].communicate(timeout=240)
    found = {m[1]: (int(m[2]), int(m[3]), int(m[4])) for m in SUMMARY.finditer(out)}
    warnings = [line.strip() for line in out.splitlines() if "WARNING" in line]
    print(f"litmus on {dav_server.name}: {found}; warnings: {warnings or 'none'}")
    assert set(found) == set(GROUPS), out
    failed = {group: n for group, n in found.items() if n[2] or n[0] != n[1]}
    assert not failed, out
    assert "SKIPPED" not in out, out
    assert litmus_runs[dav_server.name].returncode == 0, out
