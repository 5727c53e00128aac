"""Real storage services for the tests: a throwaway PostgreSQL cluster and a moto S3 server.

Both are started once per session on free loopback ports and stopped at the
end; tests that stop a service on purpose start one of their own.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import free_port, wait_for_port

PG_USER = "postgres"
S3_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def pg_bin(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not candidates:
        raise RuntimeError(f"PostgreSQL's {name} is not installed (make test-deps installs it)")
    return candidates[-1]


def _as_user(argv: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run its binaries as an unprivileged user."""
    if os.geteuid() != 0:
        return argv
    try:
        pwd.getpwnam(PG_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", PG_USER], check=True)
    return ["runuser", "-u", PG_USER, "--", *argv]


class PostgresCluster:
    """``initdb`` in a temporary directory, ``postgres`` on a free loopback port."""

    def __init__(self, durable: bool = False) -> None:
        self.durable = durable  # fsync as in production (benchmarks); tests need not wait
        self.dir = Path(tempfile.mkdtemp(prefix="blobstream-pg-"))
        self.data = self.dir / "data"
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        if os.geteuid() == 0:
            entry = pwd.getpwnam(PG_USER)
            os.chown(self.dir, entry.pw_uid, entry.pw_gid)
        subprocess.run(
            _as_user(
                [
                    pg_bin("initdb"),
                    "-D",
                    str(self.data),
                    "-U",
                    "postgres",
                    "-A",
                    "trust",
                    "-E",
                    "UTF8",
                    "--locale=C",
                    "--no-sync",
                ]
            ),
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )

    def start(self) -> PostgresCluster:
        log = open(self.dir / "postgres.log", "ab")  # noqa: SIM115 - closed after Popen
        self.proc = subprocess.Popen(
            _as_user(
                [
                    pg_bin("postgres"),
                    "-D",
                    str(self.data),
                    "-p",
                    str(self.port),
                    "-c",
                    "listen_addresses=127.0.0.1",
                    "-c",
                    f"unix_socket_directories={self.dir}",
                    "-c",
                    "max_connections=200",
                    "-c",
                    "shared_buffers=64MB",
                    *([] if self.durable else ["-c", "fsync=off", "-c", "full_page_writes=off"]),
                ]
            ),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"postgres exited:\n{self.log()}")
            done = subprocess.run(
                [pg_bin("pg_isready"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres"],
                capture_output=True,
            )
            if done.returncode == 0:
                return self
            time.sleep(0.1)
        raise TimeoutError(f"postgres did not start:\n{self.log()}")

    def log(self) -> str:
        path = self.dir / "postgres.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def url(self, db: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{db}"

    def psql(self, sql: str, db: str = "postgres") -> str:
        done = subprocess.run(
            [
                pg_bin("psql"),
                "-X",
                "-q",
                "-At",
                "-v",
                "ON_ERROR_STOP=1",
                "-d",
                self.url(db),
                "-c",
                sql,
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        return done.stdout.strip()

    def new_database(self) -> str:
        """A fresh, empty database; returns its URL."""
        name = "t_" + uuid.uuid4().hex[:12]
        self.psql(f"CREATE DATABASE {name}")
        return self.url(name)

    def stop(self) -> None:
        """Fast shutdown (SIGINT); the data directory stays for a restart."""
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGINT)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class MotoServer:
    """``moto_server`` as a separate process, used only through its HTTP endpoint."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = Path(tempfile.mkstemp(prefix="blobstream-moto-", suffix=".log")[1])

    def start(self) -> MotoServer:
        exe = Path(sys.executable).parent / "moto_server"
        log = open(self.log_path, "ab")  # noqa: SIM115 - closed after Popen
        self.proc = subprocess.Popen(
            [str(exe), "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **S3_ENV},
            start_new_session=True,
        )
        log.close()
        wait_for_port(self.port, timeout=30)
        return self

    def client(self) -> Any:
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def new_bucket(self) -> str:
        name = "b-" + uuid.uuid4().hex[:16]
        self.client().create_bucket(Bucket=name)
        return name

    def url(self, bucket: str, prefix: str = "", **params: str) -> str:
        query = "&".join(
            f"{k}={v}"
            for k, v in {"endpoint": self.endpoint, "region": "us-east-1", **params}.items()
        )
        return f"s3://{bucket}/{prefix}?{query}"

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def destroy(self) -> None:
        self.stop()
        self.log_path.unlink(missing_ok=True)


@pytest.fixture(scope="session")
def s3_env() -> Iterator[None]:
    """Dummy AWS credentials for the test process and the servers it starts."""
    saved = {k: os.environ.get(k) for k in S3_ENV}
    os.environ.update(S3_ENV)
    yield
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresCluster]:
    cluster = PostgresCluster().start()
    try:
        yield cluster
    finally:
        cluster.destroy()


@pytest.fixture(scope="session")
def moto(s3_env: None) -> Iterator[MotoServer]:
    server = MotoServer().start()
    try:
        yield server
    finally:
        server.destroy()


@pytest.fixture
def postgres_url(postgres: PostgresCluster) -> str:
    """A fresh database in the session's cluster, usable with open_store and serve."""
    return postgres.new_database()


@pytest.fixture
def s3_url(moto: MotoServer) -> str:
    """A fresh bucket on the session's moto server, usable with open_store and serve."""
    return moto.url(moto.new_bucket(), "data", part_size="5MiB")
