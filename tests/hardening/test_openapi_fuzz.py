"""schemathesis against ``/openapi.json`` of a running server: no 5xx, no schema violation.

Coverage, fuzzing and stateful phases (PUT -> GET/DELETE links from the
document), a bounded number of cases per operation, deterministic generation.
Settings and the reasons for each relaxed check are in ``schemathesis.toml``.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from tests.support import BIN, Server

HERE = Path(__file__).parent
ROOT = HERE.parent.parent


def test_schemathesis_finds_no_failure(fresh_server: Server, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "SCHEMATHESIS_HOOKS": "tests.hardening.st_hooks",
        "PYTHONPATH": str(ROOT),
        "NO_COLOR": "1",
    }
    run = subprocess.run(
        [
            str(BIN / "st"),
            "--config-file",
            str(HERE / "schemathesis.toml"),
            "run",
            f"{fresh_server.url}/openapi.json",
            "--max-examples",
            "10",
            "--generation-deterministic",
            "--workers",
            "1",
            "--request-timeout",
            "10",
            "--no-color",
            "--report",
            "junit",
            "--report-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,  # its .schemathesis cache stays out of the tree
        timeout=240,
        check=False,
    )
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-6000:]
    assert re.search(r"Stateful", output), output[-2000:]
    generated = re.search(r"(\d+) generated", output)
    assert generated and int(generated.group(1)) >= 200, output[-2000:]
    print(f"schemathesis: {generated.group(1)} cases")
    log = fresh_server.log()
    assert "Traceback" not in log
    assert not re.search(r'" 5\d\d ', log), [line for line in log.splitlines() if '" 5' in line]
