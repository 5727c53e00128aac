"""``blobstream serve`` as an operator runs it: options, environment, errors, logs, signals."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
import requests

from tests.support import BIN, Server, free_port

TIMEOUT = 10


def run_serve(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """A ``serve`` that is expected to stop on its own (bad usage or storage)."""
    return subprocess.run(
        [str(BIN / "blobstream"), "serve", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
    )


def workers(srv: Server, expected: int) -> int:
    """How many workers the master runs, once it has started ``expected`` (or 10 s passed)."""
    assert srv.proc is not None
    pid = srv.proc.pid
    deadline = time.monotonic() + 10
    while True:
        count = len(Path(f"/proc/{pid}/task/{pid}/children").read_text().split())
        if count >= expected or time.monotonic() > deadline:
            return count
        time.sleep(0.1)


def test_help_lists_every_option() -> None:
    run = run_serve("--help")
    assert run.returncode == 0
    for option in ("--storage", "--host", "--port", "--workers", "--threads", "--max-size"):
        assert option in run.stdout


@pytest.mark.parametrize(
    "args",
    [("--max-size", "lots"), ("--port", "eighty"), ("--workers", "two"), ("--bogus",)],
)
def test_bad_usage_exits_2(args: tuple[str, ...], tmp_path: Path) -> None:
    run = run_serve("--storage", (tmp_path / "d").as_uri(), "--port", str(free_port()), *args)
    assert run.returncode == 2, run.stderr
    assert run.stderr.strip()
    assert "Traceback" not in run.stderr


def test_bad_environment_value_exits_2(tmp_path: Path) -> None:
    run = run_serve("--storage", (tmp_path / "d").as_uri(), env={"BLOBSTREAM_MAX_SIZE": "huge"})
    assert run.returncode == 2
    assert "huge" in run.stderr


@pytest.mark.parametrize("kind", ["file-in-the-way", "unknown-scheme"])
def test_unusable_storage_exits_with_a_message(kind: str, tmp_path: Path) -> None:
    if kind == "file-in-the-way":
        blocker = tmp_path / "blocker"
        blocker.write_text("a file where the storage directory should be")
        url = (blocker / "data").as_uri()
    else:
        url = "ftp://example.invalid/x"
    run = run_serve("--storage", url, "--port", str(free_port()))
    assert run.returncode != 0
    assert run.stderr.strip().splitlines()[-1].startswith("blobstream serve:"), run.stderr
    assert "Traceback" not in run.stderr


def test_environment_configures_the_server(tmp_path: Path) -> None:
    env = {
        "BLOBSTREAM_MAX_SIZE": "1k",
        "BLOBSTREAM_WORKERS": "1",
        "BLOBSTREAM_THREADS": "2",
        "BLOBSTREAM_HOST": "127.0.0.1",
    }
    with Server((tmp_path / "d").as_uri(), tmp_path / "log", env=env) as srv:
        assert workers(srv, 1) == 1
        url = f"{srv.url}/blobs/env"
        assert requests.put(url, data=b"x" * 1024, timeout=TIMEOUT).status_code == 201
        assert requests.put(url, data=b"x" * 1025, timeout=TIMEOUT).status_code == 413


def test_options_override_the_environment(tmp_path: Path) -> None:
    env = {"BLOBSTREAM_MAX_SIZE": "1k", "BLOBSTREAM_WORKERS": "1"}
    args = ("--max-size", "4k", "--workers", "3", "--threads", "1")
    with Server((tmp_path / "d").as_uri(), tmp_path / "log", env=env, args=args) as srv:
        assert workers(srv, 3) == 3
        url = f"{srv.url}/blobs/flag"
        assert requests.put(url, data=b"x" * 4096, timeout=TIMEOUT).status_code == 201
        assert requests.put(url, data=b"x" * 4097, timeout=TIMEOUT).status_code == 413


def test_default_storage_is_blobstream_data_in_the_working_directory(tmp_path: Path) -> None:
    port = free_port()
    log = (tmp_path / "log").open("wb")
    proc = subprocess.Popen(
        [str(BIN / "blobstream"), "serve", "--port", str(port)],
        cwd=tmp_path,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    log.close()
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                r = requests.put(f"http://127.0.0.1:{port}/blobs/k", data=b"v", timeout=2)
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline, (tmp_path / "log").read_text()
                time.sleep(0.1)
        assert r.status_code == 201
        assert (tmp_path / "blobstream-data" / "index.sqlite3").exists()
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(40)


def test_one_log_line_per_request_and_one_date_header(tmp_path: Path) -> None:
    with Server((tmp_path / "d").as_uri(), tmp_path / "log") as srv:
        key = "logged/key-7f3a"
        requests.put(f"{srv.url}/blobs/{key}", data=b"v", timeout=TIMEOUT)
        r = requests.get(f"{srv.url}/blobs/{key}", timeout=TIMEOUT)
        assert r.raw.headers.getlist("Date") and len(r.raw.headers.getlist("Date")) == 1
        assert r.headers["Server"].startswith("gunicorn")
        requests.delete(f"{srv.url}/blobs/{key}", timeout=TIMEOUT)
        time.sleep(0.2)
        lines = [line for line in srv.log().splitlines() if key in line]
    assert [line.split('"')[1].split()[0] for line in lines] == ["PUT", "GET", "DELETE"]
    assert [line.split('"')[2].split()[0] for line in lines] == ["201", "200", "204"]


def test_sigterm_when_idle_exits_cleanly(tmp_path: Path) -> None:
    srv = Server((tmp_path / "d").as_uri(), tmp_path / "log").start()
    assert srv.proc is not None
    started = time.monotonic()
    srv.stop()
    assert srv.proc.returncode == 0, srv.log()
    assert time.monotonic() - started < 10


def test_metrics_directories_of_killed_servers_are_removed_at_start(tmp_path: Path) -> None:
    """The per-run Prometheus directory outlives a ``kill -9``; the next start removes it,
    and a clean stop removes the server's own."""
    temp = tmp_path / "temp"
    temp.mkdir()
    exited = subprocess.Popen(["true"])
    exited.wait()
    killed = temp / f"blobstream-metrics-{exited.pid}-abc123"
    killed.mkdir()
    (killed / "counter_1.db").write_bytes(b"x")
    unrelated = temp / "blobstream-metrics-notapid"
    unrelated.mkdir()
    srv = Server((tmp_path / "data").as_uri(), tmp_path / "server.log", env={"TMPDIR": str(temp)})
    with srv:
        assert not killed.exists()
        assert unrelated.exists()
        assert srv.proc is not None
        own = list(temp.glob(f"blobstream-metrics-{srv.proc.pid}-*"))
        assert len(own) == 1
    assert not own[0].exists()
