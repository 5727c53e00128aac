"""``ls``, ``stat``, ``rm`` and the failures: one line on stderr, a distinct exit status."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import requests

from blobstream.cli.status import ExitStatus
from tests.cli.helpers import Cli, one_line, unique
from tests.support import free_port


def test_ls_follows_the_cursor_through_every_page(cli: Cli) -> None:
    prefix = unique("ls") + "/"
    keys = [f"{prefix}k{i:02d}" for i in range(12)]
    for key in keys:
        requests.put(f"{cli.url}/blobs/{key}", data=key.encode(), timeout=10).raise_for_status()
    done = cli.run("ls", prefix, "--page-size", "5")
    assert done.returncode == 0, done.stderr
    assert done.stdout.decode().splitlines() == keys


def test_ls_long_and_json(cli: Cli) -> None:
    prefix = unique("ls") + "/"
    requests.put(f"{cli.url}/blobs/{prefix}a", data=b"12345", timeout=10).raise_for_status()
    requests.put(f"{cli.url}/blobs/{prefix}b", data=b"", timeout=10).raise_for_status()
    long = cli.run("ls", "--long", prefix).stdout.decode().splitlines()
    assert [line.split()[0] for line in long] == ["5", "0"]
    assert [line.split()[-1] for line in long] == [prefix + "a", prefix + "b"]
    assert all("T" in line.split()[3] and line.split()[3].endswith("Z") for line in long)
    listed = json.loads(cli.run("ls", "--json", prefix, "--page-size", "1").stdout)
    assert [(b["key"], b["size"]) for b in listed] == [(prefix + "a", 5), (prefix + "b", 0)]
    assert json.loads(cli.run("ls", "--json", prefix + "nothing/").stdout) == []


def test_stat_prints_size_etag_sha256_type_and_modified(cli: Cli) -> None:
    key = unique() + "/page.html"
    assert (
        cli.run("put", "-", key, "--content-type", "text/html", stdin=b"<p>hi</p>").returncode == 0
    )
    out = cli.run("stat", key).stdout.decode()
    fields = dict(line.split(":", 1) for line in out.splitlines())
    fields = {name: value.strip() for name, value in fields.items()}
    assert fields["size"].startswith("9 ")
    assert fields["etag"].startswith('"') and fields["etag"].endswith('"')
    assert fields["sha256"] == hashlib.sha256(b"<p>hi</p>").hexdigest()
    assert fields["content-type"].startswith("text/html")
    assert fields["modified"].endswith("Z")


def test_rm_deletes_then_reports_not_found(cli: Cli) -> None:
    key = unique()
    assert cli.run("put", "-", key, stdin=b"x").returncode == 0
    assert cli.run("rm", key).returncode == 0
    again = cli.run("rm", key)
    assert again.returncode == ExitStatus.NOT_FOUND
    assert key in one_line(again.stderr)


def test_missing_keys_exit_not_found(cli: Cli, tmp_path: Path) -> None:
    key = unique()
    for args in (("get", key, str(tmp_path / "x")), ("get", key, "-"), ("stat", key)):
        done = cli.run(*args)
        assert done.returncode == ExitStatus.NOT_FOUND, args
        assert key in one_line(done.stderr)
        assert done.stdout == b""
    assert not (tmp_path / "x").exists() and not (tmp_path / "x.part").exists()


def test_unreachable_server_exits_connection(cli: Cli, tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    src = tmp_path / "f"
    src.write_bytes(b"data")
    for args in (("ls",), ("stat", "k"), ("get", "k", "-"), ("put", str(src), "k")):
        done = cli.run(*args, "--url", url)
        assert done.returncode == ExitStatus.CONNECTION, args
        assert "connection refused" in one_line(done.stderr)


def test_usage_errors_exit_usage(cli: Cli) -> None:
    assert cli.run("get", "k", "-", "--limit-rate", "fast").returncode == ExitStatus.USAGE
    assert cli.run("put", "-", "k", "--resume").returncode == ExitStatus.USAGE
    assert cli.run("get", "k", "-", "--resume").returncode == ExitStatus.USAGE
    assert cli.run("frobnicate").returncode == ExitStatus.USAGE


def test_missing_local_file_is_one_line(cli: Cli, tmp_path: Path) -> None:
    done = cli.run("put", str(tmp_path / "absent"), unique())
    assert done.returncode == ExitStatus.NOT_FOUND
    assert "absent" in one_line(done.stderr)


def test_no_clobber_exits_conflict(cli: Cli) -> None:
    key = unique()
    assert cli.run("put", "-", key, stdin=b"one").returncode == 0
    done = cli.run("put", "-", key, "--no-clobber", stdin=b"two")
    assert done.returncode == ExitStatus.CONFLICT
    assert "412" in one_line(done.stderr)
    assert cli.run("get", key, "-").stdout == b"one"


def test_invalid_keys_are_refused_before_anything_is_sent(cli: Cli) -> None:
    for key in ("a/../b", "/abs", "a//b", "tab\there"):
        done = cli.run("put", "-", key, stdin=b"x")
        assert done.returncode == ExitStatus.USAGE, key
        assert "invalid key" in one_line(done.stderr)
    assert cli.run("stat", "b").returncode == ExitStatus.NOT_FOUND
