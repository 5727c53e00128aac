"""``put`` and ``get`` through files and pipes, verified, interrupted with Ctrl-C and resumed."""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

import requests

from blobstream.cli.status import ExitStatus
from tests.cli.helpers import Cli, held_for, one_line, random_file, sha256_file, unique

MiB = 1 << 20


def stat_json(cli: Cli, key: str) -> dict[str, object]:
    done = cli.run("stat", "--json", key)
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout)
    return result


def resume_entries(cli: Cli, section: str) -> dict[str, object]:
    path = Path(cli.env["XDG_CACHE_HOME"]) / "blobstream" / "resume.json"
    if not path.exists():
        return {}
    entries: dict[str, object] = json.loads(path.read_text()).get(section, {})
    return entries


def test_put_and_get_round_trip_through_files(cli: Cli, tmp_path: Path) -> None:
    src = random_file(tmp_path / "src.bin", 3 * MiB + 17)
    key = unique() + "/src.bin"
    put = cli.run("put", str(src), key)
    assert (put.returncode, put.stderr) == (0, b"")
    dest = tmp_path / "copy.bin"
    got = cli.run("get", key, str(dest))
    assert (got.returncode, got.stderr) == (0, b"")
    assert sha256_file(dest) == sha256_file(src)
    assert not Path(str(dest) + ".part").exists()
    assert stat_json(cli, key)["sha256"] == sha256_file(src)


def test_put_and_get_round_trip_through_pipes(cli: Cli) -> None:
    data = b"".join(i.to_bytes(4, "big") for i in range(700_000))
    key = unique()
    put = cli.run("put", "-", key, stdin=data)
    assert (put.returncode, put.stderr) == (0, b"")
    got = cli.run("get", key, "-")
    assert got.returncode == 0, got.stderr
    assert got.stdout == data


def test_get_into_a_directory_uses_the_last_key_segment(cli: Cli, tmp_path: Path) -> None:
    key = unique() + "/name.txt"
    assert cli.run("put", "-", key, stdin=b"hello").returncode == 0
    (tmp_path / "into").mkdir()
    assert cli.run("get", key, str(tmp_path / "into")).returncode == 0
    assert (tmp_path / "into" / "name.txt").read_bytes() == b"hello"


def test_large_file_goes_as_a_resumable_upload_in_chunks(cli: Cli, tmp_path: Path) -> None:
    src = random_file(tmp_path / "big.bin", 5 * MiB + 3)
    key = unique()
    put = cli.run("put", str(src), key, "--chunk-size", "1M")
    assert (put.returncode, put.stderr) == (0, b"")
    assert stat_json(cli, key)["sha256"] == sha256_file(src)
    assert resume_entries(cli, "uploads") == {}


def test_interrupted_put_resumes_where_the_server_has_it(cli: Cli, tmp_path: Path) -> None:
    src = random_file(tmp_path / "resumable.bin", 8 * MiB)
    key = unique()
    args = ("put", str(src), key, "--resume", "--chunk-size", "1M")
    proc = cli.start(*args, "--limit-rate", "3M")
    status, err = cli.interrupt_when(
        proc, held_for(1.2, lambda: bool(resume_entries(cli, "uploads")))
    )
    assert status == ExitStatus.INTERRUPTED, err
    assert "Traceback" not in err and "--resume" in err
    assert requests.head(f"{cli.url}/blobs/{key}", timeout=10).status_code == 404

    resumed = cli.run(*args)
    assert resumed.returncode == 0, resumed.stderr
    match = re.search(rb"resuming the upload at byte (\d+) of (\d+)", resumed.stderr)
    assert match is not None, resumed.stderr
    assert 0 < int(match[1]) < 8 * MiB
    assert stat_json(cli, key)["sha256"] == sha256_file(src)
    assert resume_entries(cli, "uploads") == {}


def test_interrupted_get_resumes_with_range(cli: Cli, tmp_path: Path) -> None:
    src = random_file(tmp_path / "src.bin", 8 * MiB)
    key = unique()
    assert cli.run("put", str(src), key).returncode == 0
    dest = tmp_path / "dest.bin"
    part = tmp_path / "dest.bin.part"
    proc = cli.start("get", key, str(dest), "--limit-rate", "3M")
    status, err = cli.interrupt_when(proc, lambda: part.exists() and part.stat().st_size > 2 * MiB)
    assert status == ExitStatus.INTERRUPTED, err
    assert "Traceback" not in err and "--resume" in err
    assert not dest.exists() and 0 < part.stat().st_size < 8 * MiB

    resumed = cli.run("get", key, str(dest), "--resume")
    assert resumed.returncode == 0, resumed.stderr
    match = re.search(rb"resuming the download at byte (\d+)", resumed.stderr)
    assert match is not None and int(match[1]) > 2 * MiB, resumed.stderr
    assert sha256_file(dest) == sha256_file(src)
    assert not part.exists()


def test_get_resume_restarts_when_the_blob_changed(cli: Cli, tmp_path: Path) -> None:
    key = unique()
    first = random_file(tmp_path / "first.bin", 6 * MiB)
    second = random_file(tmp_path / "second.bin", 6 * MiB)
    assert cli.run("put", str(first), key).returncode == 0
    dest, part = tmp_path / "dest.bin", tmp_path / "dest.bin.part"
    proc = cli.start("get", key, str(dest), "--limit-rate", "3M")
    status, _ = cli.interrupt_when(proc, lambda: part.exists() and part.stat().st_size > MiB)
    assert status == ExitStatus.INTERRUPTED
    assert cli.run("put", str(second), key).returncode == 0

    resumed = cli.run("get", key, str(dest), "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert b"resuming" not in resumed.stderr  # If-Range answered 200: started over
    assert sha256_file(dest) == sha256_file(second)


def test_corrupted_prefix_is_detected_on_resume(cli: Cli, tmp_path: Path) -> None:
    src = random_file(tmp_path / "src.bin", 6 * MiB)
    key = unique()
    assert cli.run("put", str(src), key).returncode == 0
    dest, part = tmp_path / "dest.bin", tmp_path / "dest.bin.part"
    proc = cli.start("get", key, str(dest), "--limit-rate", "3M")
    status, _ = cli.interrupt_when(proc, lambda: part.exists() and part.stat().st_size > MiB)
    assert status == ExitStatus.INTERRUPTED
    with open(part, "r+b") as f:
        f.seek(1000)
        byte = f.read(1)
        f.seek(1000)
        f.write(bytes([byte[0] ^ 0xFF]))

    resumed = cli.run("get", key, str(dest), "--resume", "--quiet")
    assert resumed.returncode == ExitStatus.VERIFICATION
    assert "SHA-256 mismatch" in one_line(resumed.stderr)
    assert not dest.exists(), "a file that failed verification must not look complete"
    assert part.stat().st_size == 6 * MiB

    again = cli.run("get", key, str(dest), "--resume")
    assert again.returncode == 0, again.stderr  # the bad part is not continued a second time
    assert sha256_file(dest) == sha256_file(src)


def test_put_from_a_named_pipe_streams_it(cli: Cli, tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    data = os.urandom(3 * MiB)
    key = unique()
    proc = cli.start("put", str(fifo), key)
    with open(fifo, "wb") as w:
        w.write(data)
    _, err = proc.communicate(timeout=60)
    assert (proc.returncode, err) == (0, b"")
    assert cli.run("get", key, "-").stdout == data


def test_limit_rate_paces_put_and_get(cli: Cli, tmp_path: Path) -> None:
    src = random_file(tmp_path / "paced.bin", 4 * MiB)
    key = unique()
    for args in (("put", str(src), key), ("get", key, str(tmp_path / "back.bin"))):
        started = time.monotonic()
        done = cli.run(*args, "--limit-rate", "4M")
        elapsed = time.monotonic() - started
        assert done.returncode == 0, done.stderr
        assert 0.7 < elapsed < 20, (args[0], elapsed)  # 4 MiB at 4 MiB/s, less a 1 MiB burst
    assert sha256_file(tmp_path / "back.bin") == sha256_file(src)
