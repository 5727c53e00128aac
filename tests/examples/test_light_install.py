"""``pip install blobstream`` is the library alone, and a missing extra is one line.

A fresh virtualenv gets the package (Flask and Werkzeug from the index); the
server, storage and client dependencies must not come along. The local-file
example then runs there under Werkzeug's server (``flask run``), and the CLI
names the extra a command lacks instead of printing a traceback.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.examples.conftest import EXAMPLES, ExampleApp

ROOT = EXAMPLES.parent
ABSENT = ("boto3", "botocore", "psycopg", "gunicorn", "rich", "prometheus_client", "requests")


@pytest.fixture(scope="module")
def bare(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A virtualenv with nothing but ``pip install`` of a copy of this tree."""
    base = tmp_path_factory.mktemp("bare")
    tree = base / "tree"  # the build writes next to its sources: never into the worktree
    shutil.copytree(
        ROOT / "src", tree / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info")
    )
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, tree / name)
    venv = base / "venv"
    # This interpreter's pip installs into the new one (--python): no pip of its own.
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install",
         "--quiet", str(tree)],
        check=True,
        capture_output=True,
        timeout=300,
    )  # fmt: skip
    yield venv / "bin"


def run(bin_dir: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(bin_dir / argv[0]), *argv[1:]], capture_output=True, text=True, timeout=60
    )


def test_the_bare_install_has_no_server_storage_or_client_dependency(bare: Path) -> None:
    probe = "import importlib.util as u, sys; print(*[m for m in sys.argv[1:] if u.find_spec(m)])"
    found = run(bare, "python", "-c", probe, *ABSENT)
    assert found.returncode == 0 and found.stdout.strip() == "", found
    library = run(bare, "python", "-c", "import blobstream.flask, flask; print(flask.__name__)")
    assert library.stdout.strip() == "flask", library.stderr


@pytest.mark.parametrize(
    ("argv", "line"),
    [
        (("serve",), "blobstream serve: the server needs: pip install 'blobstream[server]'"),
        (
            ("serve", "--storage", "s3://bucket/prefix"),
            "blobstream serve: the s3 storage backend needs: pip install 'blobstream[s3]'",
        ),
        (
            ("serve", "--storage", "postgresql://localhost/db"),
            "blobstream serve: the postgresql storage backend needs:"
            " pip install 'blobstream[postgres]'",
        ),
        (("ls",), "blobstream ls: blobstream's client needs: pip install 'blobstream[client]'"),
    ],
)
def test_a_missing_extra_is_one_line(bare: Path, argv: tuple[str, ...], line: str) -> None:
    done = run(bare, "blobstream", *argv)
    assert (done.returncode, done.stderr, done.stdout) == (2, line + "\n", "")


def test_the_extension_names_its_extra(bare: Path) -> None:
    done = run(bare, "python", "-c", "from blobstream.flask import Blobstream")
    assert done.returncode == 1
    assert done.stderr.splitlines()[-1] == (
        "blobstream.extras.MissingExtra: blobstream's /metrics needs:"
        " pip install 'blobstream[server]'"
    )


def test_the_local_file_example_under_flask_run(bare: Path, tmp_path: Path) -> None:
    body = b"a body for the bare install" * 1000
    env = {"UPLOAD_DIR": str(tmp_path / "files"), "MAX_UPLOAD_BYTES": "100000"}
    app = ExampleApp("flask", "upload_local", tmp_path / "app.log", env, bin_dir=bare)
    with app:
        good = requests.put(f"{app.url}/files/a.bin", data=body, timeout=30)
        assert good.status_code == 201 and good.json()["sha256"] == hashlib.sha256(body).hexdigest()
        refused = requests.put(
            f"{app.url}/files/b.bin", data=body, headers={"Content-MD5": "AAAA"}, timeout=30
        )
        assert refused.status_code == 400
        assert refused.headers["Content-Type"] == "application/problem+json"
        too_large = requests.put(f"{app.url}/files/c.bin", data=body * 5, timeout=30)
        assert too_large.status_code == 413
    assert "Traceback" not in app.log()
    assert sorted(p.name for p in (tmp_path / "files").iterdir()) == ["a.bin"]
