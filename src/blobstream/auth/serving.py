"""Access control settings of ``blobstream serve``: flags and environment, checked at start.

The settings are parsed here, in the master process, so a bad tokens file or an
anonymous server on a public address stops ``serve`` with a message instead of
failing in every worker.
"""

from __future__ import annotations

import argparse
from typing import Any

from blobstream.auth.config import AuthConfig, check_bind


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--tokens-file",
        help="file of 'token role' lines, token plain or sha256:<hex> (env "
        "BLOBSTREAM_TOKENS_FILE); or env BLOBSTREAM_TOKENS='token=role,...'",
    )
    p.add_argument(
        "--allow-anonymous",
        action="store_true",
        default=None,
        help="serve without tokens on a non-loopback address (env BLOBSTREAM_ALLOW_ANONYMOUS)",
    )
    p.add_argument(
        "--cors-origin",
        action="append",
        help="origin allowed to call the API from a browser, repeatable; '*' allows any "
        "origin without credentials (env BLOBSTREAM_CORS_ORIGINS, comma-separated)",
    )


ENV_SETTINGS = (
    "TOKENS",
    "SECRET",
    "PROTECT_METRICS",
    "MAX_UPLOADS_PER_TOKEN",
    "BODY_TIMEOUT",
)


def access_config(
    args: argparse.Namespace, env: dict[str, str], host: str
) -> tuple[dict[str, Any], str]:
    """The ``BLOBSTREAM_*`` app settings and the start-up note on access control.

    ``ValueError`` for a bad setting; ``PermissionError`` when no tokens are
    configured and ``host`` is not loopback (unless anonymous access is allowed).
    """
    config: dict[str, Any] = {}
    for name in ENV_SETTINGS:
        if env.get(f"BLOBSTREAM_{name}"):
            config[f"BLOBSTREAM_{name}"] = env[f"BLOBSTREAM_{name}"]
    tokens_file = args.tokens_file or env.get("BLOBSTREAM_TOKENS_FILE")
    if tokens_file:
        config["BLOBSTREAM_TOKENS_FILE"] = tokens_file
    if args.allow_anonymous:
        config["BLOBSTREAM_ALLOW_ANONYMOUS"] = True
    elif env.get("BLOBSTREAM_ALLOW_ANONYMOUS"):
        config["BLOBSTREAM_ALLOW_ANONYMOUS"] = env["BLOBSTREAM_ALLOW_ANONYMOUS"]
    origins = args.cors_origin or env.get("BLOBSTREAM_CORS_ORIGINS")
    if origins:
        config["BLOBSTREAM_CORS_ORIGINS"] = origins
    auth = AuthConfig.from_mapping(
        {name.removeprefix("BLOBSTREAM_").lower(): value for name, value in config.items()}
    )
    note = check_bind(host, auth)
    if auth.secret is None:
        note += "; presigned URLs are off (no BLOBSTREAM_SECRET)"
    return config, note
