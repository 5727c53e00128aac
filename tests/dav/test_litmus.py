"""litmus (the WebDAV conformance suite): every default group passes on every backend.

The runs start with the servers (``conftest.dav_servers``) and go on beside
the other tests; each test here waits for its backend's run and reads it.
"""

from __future__ import annotations

import re

from tests.dav.conftest import DavServer

GROUPS = ("basic", "copymove", "props", "locks", "http")
SUMMARY = re.compile(r"<- summary for `(\w+)': of (\d+) tests run: (\d+) passed, (\d+) failed")


def test_litmus_passes_every_group(dav_server: DavServer) -> None:
    run = dav_server.litmus
    assert run is not None
    out, _ = run.communicate(timeout=240)
    found = {m[1]: (int(m[2]), int(m[3]), int(m[4])) for m in SUMMARY.finditer(out)}
    warnings = [line.strip() for line in out.splitlines() if "WARNING" in line]
    print(f"litmus on {dav_server.name}: {found}; warnings: {warnings or 'none'}")
    assert set(found) == set(GROUPS), out
    failed = {group: n for group, n in found.items() if n[2] or n[0] != n[1]}
    assert not failed, out
    assert "SKIPPED" not in out, out
    assert run.returncode == 0, out
