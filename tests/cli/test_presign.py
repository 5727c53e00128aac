"""``presign``: the URL it prints grants one method on one key, without a token."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from blobstream.cli.status import ExitStatus
from tests.cli.helpers import Cli, one_line, unique
from tests.support import Server

SECRET = "presign-test-secret"
TOKEN = "cli-admin-token"


@pytest.fixture(scope="module")
def guarded_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server that refuses anonymous requests and knows the presign secret."""
    root = tmp_path_factory.mktemp("presign")
    env = {"BLOBSTREAM_SECRET": SECRET, "BLOBSTREAM_TOKENS": f"{TOKEN}=admin"}
    with Server((root / "data").as_uri(), root / "server.log", env=env) as srv:
        yield srv


@pytest.fixture
def signer(guarded_server: Server, tmp_path: Path) -> Cli:
    return Cli(guarded_server.url, tmp_path / "cache", {"BLOBSTREAM_SECRET": SECRET})


def test_presigned_get_url_works_without_a_token(signer: Cli) -> None:
    key = unique() + "/report.txt"
    assert signer.run("put", "-", key, "--token", TOKEN, stdin=b"quarterly").returncode == 0
    assert requests.get(f"{signer.url}/blobs/{key}", timeout=10).status_code == 401

    done = signer.run("presign", key, "--expires", "600")
    assert done.returncode == 0, done.stderr
    url = done.stdout.decode().strip().splitlines()[-1]
    with requests.get(url, timeout=10) as response:
        assert (response.status_code, response.content) == (200, b"quarterly")


def test_presigned_put_url_stores_a_blob(signer: Cli) -> None:
    key = unique()
    done = signer.run("presign", key, "--method", "PUT")
    url = done.stdout.decode().strip().splitlines()[-1]
    with requests.put(url, data=b"dropped off", timeout=10) as response:
        assert response.status_code == 201, response.text
    got = signer.run("get", key, "-", "--token", TOKEN)
    assert got.stdout == b"dropped off"


def test_token_from_the_environment_and_refusals(signer: Cli) -> None:
    key = unique()
    refused = signer.run("put", "-", key, stdin=b"x")
    assert refused.returncode == ExitStatus.REFUSED
    assert "401" in one_line(refused.stderr)
    signer.env["BLOBSTREAM_TOKEN"] = TOKEN
    assert signer.run("put", "-", key, stdin=b"x").returncode == 0
    assert signer.run("ls", key).stdout.decode().split() == [key]


def test_presign_without_a_secret_is_a_usage_error(signer: Cli) -> None:
    del signer.env["BLOBSTREAM_SECRET"]
    done = signer.run("presign", "k")
    assert done.returncode == ExitStatus.USAGE
    assert "BLOBSTREAM_SECRET" in one_line(done.stderr)
