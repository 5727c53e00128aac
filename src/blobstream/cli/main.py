"""``blobstream`` entry point: ``main(argv) -> exit status`` so tests can call it."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from blobstream.cli import listing, serve, transfer
from blobstream.cli.status import ExitStatus
from blobstream.extras import MissingExtra


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="blobstream", description="Stream very large blobs over HTTP."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve.add_parser(commands)
    transfer.add_parsers(commands)
    listing.add_parsers(commands)
    return parser


def main(argv: Sequence[str] | None = None, env: dict[str, str] | None = None) -> int:
    env = dict(os.environ) if env is None else env
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return ExitStatus.OK if exc.code == 0 else ExitStatus.USAGE
    try:
        status: int = args.handler(args, env)
    except MissingExtra as exc:  # an optional dependency is not installed: say which
        print(f"blobstream {args.command}: {exc}", file=sys.stderr)
        return ExitStatus.USAGE
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return ExitStatus.INTERRUPTED
    return status


def run() -> None:
    sys.exit(main())
