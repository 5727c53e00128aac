"""``blobstream serve``: the blob server on gunicorn (SPEC "Configuration")."""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any

from blobstream.auth import serving
from blobstream.cli.sizes import parse_size
from blobstream.cli.status import ExitStatus
from blobstream.errors import BlobstreamError
from blobstream.extras import needs
from blobstream.storage import DEFAULT_STORAGE, require_backend


def add_parser(commands: Any) -> None:
    p: argparse.ArgumentParser = commands.add_parser(
        "serve", help="run the blob server", description="Run the blob server on gunicorn."
    )
    p.add_argument("--storage", help=f"storage URL (env BLOBSTREAM_STORAGE; {DEFAULT_STORAGE})")
    p.add_argument("--host", help="address to bind (env BLOBSTREAM_HOST; 127.0.0.1)")
    p.add_argument("--port", type=int, help="port (env BLOBSTREAM_PORT; 8080)")
    p.add_argument("--workers", type=int, help="worker processes (env BLOBSTREAM_WORKERS; 2)")
    p.add_argument("--threads", type=int, help="threads per worker (env BLOBSTREAM_THREADS; 16)")
    p.add_argument("--max-size", help="largest body accepted, e.g. 100G (env BLOBSTREAM_MAX_SIZE)")
    serving.add_arguments(p)
    p.add_argument(
        "--s3-port",
        type=int,
        help="also serve the S3 API on this port of the same host (env BLOBSTREAM_S3_PORT; off)",
    )
    p.add_argument(
        "--s3-credentials",
        help="file of 'ACCESS_KEY SECRET ROLE' lines for the S3 API (env "
        "BLOBSTREAM_S3_CREDENTIALS_FILE); or env BLOBSTREAM_S3_CREDENTIALS='AK:SK:role,...'",
    )
    p.add_argument(
        "--hook-url",
        action="append",
        help="POST every event to this URL, repeatable (env BLOBSTREAM_HOOK_URLS, comma-separated)",
    )
    p.add_argument(
        "--pre-commit-url",
        help="ask this URL before each commit; a non-2xx answer vetoes (env "
        "BLOBSTREAM_PRE_COMMIT_URL)",
    )
    p.add_argument(
        "--quotas",
        help="quotas, e.g. 'prefix:photos/=10G/1000,token:T=1G' or @file (env BLOBSTREAM_QUOTAS)",
    )
    p.set_defaults(handler=run_serve)


def hook_config(args: argparse.Namespace, env: dict[str, str], storage: str) -> dict[str, Any]:
    """The event and quota settings, checked here so a bad one stops ``serve`` at once."""
    from blobstream.events import hook_urls
    from blobstream.quotas import parse_quotas

    config: dict[str, Any] = {}
    urls = hook_urls(args.hook_url or env.get("BLOBSTREAM_HOOK_URLS"))
    if urls:
        config["BLOBSTREAM_HOOK_URLS"] = urls
    pre_commit = args.pre_commit_url or env.get("BLOBSTREAM_PRE_COMMIT_URL")
    if pre_commit:
        hook_urls(pre_commit)
        config["BLOBSTREAM_PRE_COMMIT_URL"] = pre_commit
    quotas = args.quotas or env.get("BLOBSTREAM_QUOTAS")
    if quotas:
        parse_quotas(quotas)
        config["BLOBSTREAM_QUOTAS"] = quotas
    for name in ("HOOK_POLL",):
        if env.get(f"BLOBSTREAM_{name}"):
            config[f"BLOBSTREAM_{name}"] = env[f"BLOBSTREAM_{name}"]
    return config


def s3_config(args: argparse.Namespace, env: dict[str, str], options: Any) -> str | None:
    """Set the S3 listener's options; its start-up note (None when it is off)."""
    from blobstream.auth.config import is_loopback
    from blobstream.s3.credentials import parse_credentials, read_credentials_file

    port = args.s3_port if args.s3_port is not None else env.get("BLOBSTREAM_S3_PORT")
    if port in (None, ""):
        return None
    options.s3_port = int(port)
    if options.s3_port == options.port:
        raise ValueError("--s3-port must differ from --port")
    keys = (
        parse_credentials(env["BLOBSTREAM_S3_CREDENTIALS"])
        if env.get("BLOBSTREAM_S3_CREDENTIALS")
        else []
    )
    path = args.s3_credentials or env.get("BLOBSTREAM_S3_CREDENTIALS_FILE")
    if path:
        keys += read_credentials_file(path)
    options.s3_credentials = keys
    options.s3_region = env.get("BLOBSTREAM_S3_REGION") or "us-east-1"
    where = f"S3 API on port {options.s3_port} (region {options.s3_region})"
    if keys:
        return f"{where}: {len(keys)} access key(s) configured; requests must be signed"
    anonymous = args.allow_anonymous or env.get("BLOBSTREAM_ALLOW_ANONYMOUS")
    if not is_loopback(options.host) and not anonymous:
        raise PermissionError(
            f"refusing to serve the S3 API on {options.host} without access keys: set "
            "BLOBSTREAM_S3_CREDENTIALS='AK:SK:role,...' or --s3-credentials FILE, bind to "
            "127.0.0.1, or pass --allow-anonymous if this network is trusted."
        )
    return f"{where}: no access keys configured; requests are served without a signature check"


def run_serve(args: argparse.Namespace, env: dict[str, str]) -> int:
    def pick(name: str, default: Any) -> Any:
        value = getattr(args, name)
        return value if value is not None else env.get(f"BLOBSTREAM_{name.upper()}", default)

    try:  # the storage's own extra (s3, postgres) first, then the server's
        require_backend(pick("storage", DEFAULT_STORAGE))
    except BlobstreamError as exc:
        print(f"blobstream serve: {exc.detail}", file=sys.stderr)
        return ExitStatus.ERROR
    with needs("server", "the server"):  # gunicorn, prometheus-client, wsgidav
        from blobstream.auth.redact import install_filter
        from blobstream.server.launcher import ServeOptions, serve

    try:
        max_size = pick("max_size", None)
        options = ServeOptions(
            storage=pick("storage", DEFAULT_STORAGE),
            host=pick("host", "127.0.0.1"),
            port=int(pick("port", 8080)),
            workers=int(pick("workers", 2)),
            threads=int(pick("threads", 16)),
            max_size=parse_size(str(max_size)) if max_size not in (None, "") else None,
        )
        access, access_note = serving.access_config(args, env, options.host)
        s3_note = s3_config(args, env, options)
        access.update(hook_config(args, env, options.storage))
    except ValueError as exc:
        print(f"blobstream serve: {exc}", file=sys.stderr)
        return ExitStatus.USAGE
    except PermissionError as exc:
        print(f"blobstream serve: {exc}", file=sys.stderr)
        return ExitStatus.REFUSED
    options.extra_config.update(access)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    install_filter(logging.getLogger())
    logging.getLogger("blobstream").info("%s", access_note)
    if s3_note:
        logging.getLogger("blobstream").info("%s", s3_note)
    try:
        serve(options)
    except BlobstreamError as exc:
        print(f"blobstream serve: {exc.detail}", file=sys.stderr)
        return ExitStatus.ERROR
    return ExitStatus.OK
