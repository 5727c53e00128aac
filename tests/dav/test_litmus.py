"""litmus (the WebDAV conformance suite) against the server, every default group, every backend."""

from __future__ import annotations

import re
import shutil
import subprocess
import uuid
from pathlib import Path

from tests.dav.conftest import WRITE, DavServer

GROUPS = ("basic", "copymove", "props", "locks", "http")
SUMMARY = re.compile(r"<- summary for `(\w+)': of (\d+) tests run: (\d+) passed, (\d+) failed")


def test_litmus_passes_every_group(dav_server: DavServer, tmp_path: Path) -> None:
    litmus = shutil.which("litmus")
    assert litmus, "litmus is not installed (scripts/system-deps.sh installs it)"
    # A collection of its own: litmus works under <url>/litmus/ and cleans up after itself.
    base = f"{dav_server.dav}litmus-{uuid.uuid4().hex[:8]}/"
    made = dav_server.session().request("MKCOL", base, timeout=10)
    assert made.status_code == 201, made.text
    run = subprocess.run(
        [litmus, "--keep-going", base, "anyone", WRITE],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=240,
    )
    out = run.stdout + run.stderr
    found = {m[1]: (int(m[2]), int(m[3]), int(m[4])) for m in SUMMARY.finditer(out)}
    warnings = [line.strip() for line in out.splitlines() if "WARNING" in line]
    print(f"litmus on {dav_server.name}: {found}; warnings: {warnings or 'none'}")
    assert set(found) == set(GROUPS), out
    failed = {group: n for group, n in found.items() if n[2] or n[0] != n[1]}
    assert not failed, out
    assert "SKIPPED" not in out, out
    assert run.returncode == 0, out
