"""``put -r`` and ``get -r``: 1,000 small files and a few large ones, up and down, -j 8.

A second run transfers nothing; a changed file is sent again; a file that
fails is reported, the others still go, and the exit status says so.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from blobstream.cli.status import ExitStatus
from tests.cli.helpers import Cli, random_file, sha256_file, unique
from tests.support import Server

MiB = 1 << 20
SMALL = 1000
LARGE = (5 * MiB, 6 * MiB + 1)  # over the 4 MiB threshold: resumable uploads


def _tree(root: Path) -> dict[str, str]:
    """The tree's files by relative path, with their SHA-256."""
    files: dict[str, str] = {}
    for dirpath, _, names in os.walk(root):
        for name in names:
            path = Path(dirpath) / name
            files[path.relative_to(root).as_posix()] = sha256_file(path)
    return files


def _summary(stderr: bytes) -> tuple[int, int, int]:
    text = stderr.decode()
    match = re.search(
        r"(\d+) files: (\d+) (?:sent|received) \([^)]*\), (\d+) unchanged, (\d+) failed", text
    )
    assert match is not None, text
    return int(match[2]), int(match[3]), int(match[4])


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("tree") / "src"
    for i in range(SMALL):
        d = root / f"d{i % 10}" / ("deep" if i % 3 == 0 else "")
        d.mkdir(parents=True, exist_ok=True)
        (d / f"f{i:04}.txt").write_bytes(os.urandom(100 + i))
    for n, size in enumerate(LARGE):
        random_file(root / f"large-{n}.bin", size)
    (root / "a-b.txt").write_bytes(b"sorts before a/ ")  # "-" < "/": key order != walk order
    (root / "a").mkdir()
    (root / "a" / "b.txt").write_bytes(b"under a/")
    return root


def test_a_tree_goes_up_and_down_and_a_second_run_sends_nothing(
    cli: Cli, tree: Path, tmp_path: Path
) -> None:
    prefix = unique("tree")
    total = SMALL + len(LARGE) + 2
    up = cli.run("put", "-r", str(tree), prefix, "-j", "8")
    assert up.returncode == 0, up.stderr[-2000:]
    assert _summary(up.stderr) == (total, 0, 0)
    assert up.stderr.count(b"\nsent ") + up.stderr.startswith(b"sent ") == total

    again = cli.run("put", "-r", str(tree), prefix, "-j", "8")
    assert again.returncode == 0, again.stderr[-2000:]
    assert _summary(again.stderr) == (0, total, 0)

    down = tmp_path / "down"
    got = cli.run("get", "-r", prefix, str(down), "-j", "8")
    assert got.returncode == 0, got.stderr[-2000:]
    assert _summary(got.stderr) == (total, 0, 0)
    assert _tree(down) == _tree(tree)
    assert not list(down.rglob("*.part"))

    again = cli.run("get", "-r", prefix + "/", str(down), "-j", "8")
    assert _summary(again.stderr) == (0, total, 0)


def test_changed_files_are_sent_again(cli: Cli, tree: Path, tmp_path: Path) -> None:
    prefix = unique("tree")
    src = tmp_path / "src"
    shutil.copytree(tree, src)
    assert cli.run("put", "-r", str(src), prefix, "-j", "8").returncode == 0
    (src / "d1" / "f0001.txt").write_bytes(b"changed, other size")
    with open(src / "large-0.bin", "r+b") as f:  # same size, other bytes
        f.write(b"\xff" * 8)
    (src / "new.txt").write_bytes(b"new")
    again = cli.run("put", "-r", str(src), prefix, "-j", "8")
    assert again.returncode == 0, again.stderr[-2000:]
    assert _summary(again.stderr)[0] == 3
    sent = sorted(
        line.split()[1] for line in again.stderr.decode().splitlines() if line.startswith("sent ")
    )
    assert sent == [f"{prefix}/d1/f0001.txt", f"{prefix}/large-0.bin", f"{prefix}/new.txt"]

    down = tmp_path / "down"
    assert cli.run("get", "-r", prefix, str(down), "-j", "8").returncode == 0
    (down / "d2" / "f0002.txt").write_bytes(b"local change")
    back = cli.run("get", "-r", prefix, str(down), "-j", "8")
    assert _summary(back.stderr)[0] == 1
    assert _tree(down) == _tree(src)


def test_a_failed_file_is_reported_and_the_rest_goes(
    cli: Cli, server: Server, tmp_path: Path
) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "good.txt").write_bytes(b"good")
    (src / "bad\x7fname.txt").write_bytes(b"a key may not hold DEL")
    prefix = unique("tree")
    done = cli.run("put", "-r", str(src), prefix)
    assert done.returncode == ExitStatus.ERROR
    assert _summary(done.stderr) == (1, 0, 1)
    assert b"failed " in done.stderr and b"Traceback" not in done.stderr
    assert cli.run("stat", f"{prefix}/good.txt").returncode == 0
