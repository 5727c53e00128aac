"""``blobstream`` entry point: ``main(argv) -> exit status`` so tests can call it."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from blobstream.cli import listing, transfer
from blobstream.cli.status import ExitStatus
from blobstream.extras import MissingExtra

CLIENT_COMMANDS = frozenset({"put", "get", "ls", "stat", "rm", "presign"})


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The whole parser; for a client ``command``, ``serve`` is left a stub so the
    server's modules (Flask, the storage backends) are not imported: half a
    second of every ``put``."""
    parser = argparse.ArgumentParser(
        prog="blobstream", description="Stream very large blobs over HTTP."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    if command in CLIENT_COMMANDS:
        commands.add_parser("serve", help="run the blob server")
    else:
        from blobstream.cli import serve

        serve.add_parser(commands)
    transfer.add_parsers(commands)
    listing.add_parsers(commands)
    return parser


def main(argv: Sequence[str] | None = None, env: dict[str, str] | None = None) -> int:
    env = dict(os.environ) if env is None else env
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(argv[0] if argv else None)
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
