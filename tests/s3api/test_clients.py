"""Unmodified clients against the S3 listener: the AWS CLI, s3cmd, rclone, MinIO's SDK."""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

from minio import Minio

from tests.s3api.conftest import ADMIN, REGION, S3Server

MIB = 1 << 20


def _tree(root: Path) -> dict[str, bytes]:
    files = {"a.txt": b"alpha\n", "sub/b.bin": os.urandom(70_000), "sub/deeper/c": b""}
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return files


def _run(argv: list[str], env: dict[str, str] | None = None, ok: tuple[int, ...] = (0,)) -> str:
    # The machine's AWS_* settings (a CA bundle, a profile) are not the test's.
    base = {n: v for n, v in os.environ.items() if not n.startswith("AWS_")}
    done = subprocess.run(
        argv, env={**base, **(env or {})}, capture_output=True, text=True, timeout=120
    )
    assert done.returncode in ok, f"{argv[0]} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_aws_cli(s3: S3Server, bucket: str, tmp_path: Path) -> None:
    config = tmp_path / "aws-config"
    config.write_text(f"[default]\nregion = {REGION}\ns3 =\n  addressing_style = path\n")
    env = {
        "AWS_ACCESS_KEY_ID": ADMIN[0],
        "AWS_SECRET_ACCESS_KEY": ADMIN[1],
        "AWS_CONFIG_FILE": str(config),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
    }
    aws = [str(Path(sys.executable).parent / "aws"), "--endpoint-url", s3.endpoint]
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(9 * MIB))  # over the CLI's 8 MiB multipart threshold
    _run([*aws, "s3", "cp", str(big), f"s3://{bucket}/big.bin"], env)
    files = _tree(tmp_path / "tree")
    _run([*aws, "s3", "sync", str(tmp_path / "tree"), f"s3://{bucket}/tree"], env)
    listing = _run([*aws, "s3", "ls", "--recursive", f"s3://{bucket}/tree/"], env)
    assert sorted(line.split()[-1] for line in listing.splitlines()) == sorted(
        f"tree/{name}" for name in files
    )
    again = _run([*aws, "s3", "sync", str(tmp_path / "tree"), f"s3://{bucket}/tree"], env)
    assert "upload:" not in again  # nothing changed: nothing sent
    head = _run([*aws, "s3api", "head-object", "--bucket", bucket, "--key", "big.bin"], env)
    assert '-2\\"' in head  # a multipart ETag: 8 MiB and 1 MiB
    _run([*aws, "s3", "rm", "--recursive", f"s3://{bucket}/"], env)
    assert "Contents" not in s3.client().list_objects_v2(Bucket=bucket)


def test_s3cmd(s3: S3Server, bucket: str, tmp_path: Path) -> None:
    host = s3.endpoint.removeprefix("http://")
    config = tmp_path / "s3cfg"
    config.write_text(
        "[default]\n"
        f"access_key = {ADMIN[0]}\nsecret_key = {ADMIN[1]}\n"
        f"host_base = {host}\nhost_bucket = {host}\nuse_https = False\n"
        f"bucket_location = {REGION}\nsignature_v2 = False\n"
    )
    s3cmd = [shutil.which("s3cmd") or "s3cmd", "-c", str(config)]
    data = tmp_path / "six.bin"
    data.write_bytes(os.urandom(6 * MIB))
    _run([*s3cmd, "put", "--multipart-chunk-size-mb=5", str(data), f"s3://{bucket}/six.bin"])
    _run([*s3cmd, "put", str(tmp_path / "six.bin"), f"s3://{bucket}/dir/six-again.bin"])
    listing = _run([*s3cmd, "ls", "--recursive", f"s3://{bucket}"])
    assert f"s3://{bucket}/six.bin" in listing and f"s3://{bucket}/dir/six-again.bin" in listing
    back = tmp_path / "back.bin"
    _run([*s3cmd, "get", f"s3://{bucket}/six.bin", str(back)])
    assert back.read_bytes() == data.read_bytes()
    _run([*s3cmd, "del", f"s3://{bucket}/six.bin", f"s3://{bucket}/dir/six-again.bin"])
    assert _run([*s3cmd, "ls", "--recursive", f"s3://{bucket}"]).strip() == ""


def test_rclone(s3: S3Server, bucket: str, tmp_path: Path) -> None:
    env = {
        "RCLONE_CONFIG": str(tmp_path / "rclone.conf"),
        "RCLONE_CONFIG_BS_TYPE": "s3",
        "RCLONE_CONFIG_BS_PROVIDER": "Other",
        "RCLONE_CONFIG_BS_ENDPOINT": s3.endpoint,
        "RCLONE_CONFIG_BS_ACCESS_KEY_ID": ADMIN[0],
        "RCLONE_CONFIG_BS_SECRET_ACCESS_KEY": ADMIN[1],
        "RCLONE_CONFIG_BS_REGION": REGION,
        "RCLONE_CONFIG_BS_FORCE_PATH_STYLE": "true",
    }
    rclone = [shutil.which("rclone") or "rclone", "--s3-upload-cutoff", "5M",
              "--s3-chunk-size", "5M"]  # fmt: skip
    files = _tree(tmp_path / "tree")
    (tmp_path / "tree" / "eleven.bin").write_bytes(os.urandom(11 * MIB))  # multipart
    _run([*rclone, "copy", str(tmp_path / "tree"), f"bs:{bucket}/tree"], env)
    _run([*rclone, "check", str(tmp_path / "tree"), f"bs:{bucket}/tree"], env)  # sizes, MD5s
    listed = _run([*rclone, "lsf", "-R", "--files-only", f"bs:{bucket}/tree"], env)
    assert sorted(listed.split()) == sorted([*files, "eleven.bin"])
    _run([*rclone, "copy", f"bs:{bucket}/tree", str(tmp_path / "down")], env)
    _run([*rclone, "check", str(tmp_path / "tree"), str(tmp_path / "down")], env)
    _run([*rclone, "purge", f"bs:{bucket}/tree"], env)
    assert _run([*rclone, "lsf", "-R", f"bs:{bucket}"], env).strip() == ""


def test_minio_sdk(s3: S3Server, bucket: str, tmp_path: Path) -> None:
    client = Minio(
        s3.endpoint.removeprefix("http://"),
        access_key=ADMIN[0],
        secret_key=ADMIN[1],
        secure=False,
        region=REGION,
    )
    data = os.urandom(300_000)
    client.put_object(bucket, "m/one", io.BytesIO(data), len(data), content_type="text/x-m",
                      metadata={"x-amz-meta-who": "minio"})  # fmt: skip
    stat = client.stat_object(bucket, "m/one")
    assert stat.size == len(data) and stat.content_type == "text/x-m"
    assert stat.etag == hashlib.md5(data).hexdigest()
    response = client.get_object(bucket, "m/one")
    try:
        assert response.read() == data
    finally:
        response.close()
        response.release_conn()
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(11 * MIB))
    client.fput_object(bucket, "m/big", str(big), part_size=5 * MIB)  # multipart
    client.fget_object(bucket, "m/big", str(tmp_path / "back.bin"))
    assert (tmp_path / "back.bin").read_bytes() == big.read_bytes()
    listed = client.list_objects(bucket, prefix="m/", recursive=True)
    assert sorted(o.object_name for o in listed) == ["m/big", "m/one"]
    client.remove_object(bucket, "m/one")
    client.remove_object(bucket, "m/big")
    assert list(client.list_objects(bucket, recursive=True)) == []
