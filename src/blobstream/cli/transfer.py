"""``blobstream put`` and ``blobstream get``: verified, resumable, paced transfers.

``put`` of a regular file is resumable: a tus upload remembered in the cache
directory, its bytes sent in one PATCH with the file's SHA-256 in the trailer
section (``Repr-Digest``); the server commits only if they match (else nothing
is stored and the exit status is VERIFICATION). However it stopped — Ctrl-C,
a lost connection, a killed client, a crashed server — the same command with
``--resume`` sends only what the server lacks, and the whole file is checked
again. Files under 4 MiB, pipes and stdin go as one chunked PUT with
``Content-Digest`` in the trailer. ``get`` writes ``DEST.part`` and renames it
only once its SHA-256 matches ``Repr-Digest``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from blobstream.cli.progress import TransferProgress
from blobstream.cli.remote import client_for, common_options, guarded, note, usage_error
from blobstream.cli.sizes import parse_size
from blobstream.cli.status import ExitStatus

RESUME_HINT = "; run the same command with --resume to continue"


def _size(text: str) -> int:
    try:
        return parse_size(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _rate(text: str) -> int:
    value = _size(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("the rate must be positive")
    return value


def add_parsers(commands: Any) -> None:
    common = common_options()
    put = commands.add_parser(
        "put", parents=[common], help="upload a file or stdin", description=__doc__
    )
    put.add_argument("src", metavar="SRC", help="file to upload, - for stdin, or DIR with -r")
    put.add_argument("key", metavar="KEY", help="blob key, e.g. isos/big.iso (PREFIX with -r)")
    _tree_options(put, "upload DIR to keys PREFIX/<path>, skipping unchanged files")
    put.add_argument("--resume", action="store_true", help="continue an interrupted upload")
    put.add_argument("--limit-rate", type=_rate, metavar="RATE", help="at most RATE bytes/s (8M)")
    put.add_argument("--content-type", help="stored media type (default: guessed from SRC)")
    put.add_argument("--no-clobber", action="store_true", help="fail (exit 7) if KEY exists")
    put.add_argument(
        "--chunk-size", type=_size, default=None, metavar="SIZE",
        help="bytes per request (default: the whole file in one; for proxies that limit bodies)",
    )  # fmt: skip
    put.set_defaults(handler=guarded(run_put))

    get = commands.add_parser(
        "get", parents=[common], help="download a blob to a file or stdout", description=__doc__
    )
    get.add_argument("key", metavar="KEY", help="blob key (PREFIX with -r)")
    get.add_argument("dest", metavar="DEST", help="file or directory to write, or - for stdout")
    _tree_options(get, "download every blob under PREFIX into DEST, skipping unchanged files")
    get.add_argument("--resume", action="store_true", help="continue DEST.part (Range, If-Range)")
    get.add_argument("--limit-rate", type=_rate, metavar="RATE", help="at most RATE bytes/s (8M)")
    get.set_defaults(handler=guarded(run_get))


def _jobs(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 64:
        raise argparse.ArgumentTypeError("give a number of parallel transfers from 1 to 64")
    return int(text)


def _tree_options(parser: argparse.ArgumentParser, recursive_help: str) -> None:
    parser.add_argument("-r", "--recursive", action="store_true", help=recursive_help)
    parser.add_argument(
        "-j", "--jobs", type=_jobs, default=4, metavar="N", help="with -r: N files at a time (4)"
    )


def run_put(args: argparse.Namespace, env: dict[str, str]) -> int:
    from blobstream.client import ResumeState
    from blobstream.client.core import RESUMABLE_THRESHOLD

    if args.recursive:
        from blobstream.cli.tree import run_put_tree

        return run_put_tree(args, env)
    if args.chunk_size is not None and args.chunk_size <= 0:
        return usage_error(args, "--chunk-size must be positive")
    state = ResumeState.default(env)
    with client_for(args, env) as client:
        if args.src == "-":
            if args.resume:
                return usage_error(args, "--resume needs a file: stdin cannot be resumed")
            with TransferProgress.for_stream(args.key, quiet=args.quiet) as bar:
                client.put(
                    args.key, sys.stdin.buffer, content_type=args.content_type,
                    limit_rate=args.limit_rate, progress=bar.advance,
                    if_none_match=args.no_clobber,
                )  # fmt: skip
            return ExitStatus.OK
        path = Path(args.src)
        if path.is_dir():
            return usage_error(args, f"{args.src} is a directory: use put -r DIR PREFIX")
        if not path.exists():
            raise FileNotFoundError(2, "no such file", args.src)
        if args.resume and not path.is_file():
            return usage_error(args, "--resume needs a regular file, not a pipe or device")
        size = path.stat().st_size if path.is_file() else None
        if args.resume or (size is not None and size >= RESUMABLE_THRESHOLD):
            args.resume_hint = RESUME_HINT

        def resuming(offset: int, total: int) -> None:
            note(args, f"resuming the upload at byte {offset} of {total}")

        with TransferProgress.for_stream(args.key, quiet=args.quiet, total=size) as bar:
            client.put(
                args.key, path, content_type=args.content_type, limit_rate=args.limit_rate,
                progress=bar.advance, chunk_size=args.chunk_size, if_none_match=args.no_clobber,
                state=state, resume=args.resume, on_resume=resuming,
            )  # fmt: skip
    return ExitStatus.OK


def run_get(args: argparse.Namespace, env: dict[str, str]) -> int:
    from blobstream.client import BlobStat, ResumeState

    if args.recursive:
        from blobstream.cli.tree import run_get_tree

        return run_get_tree(args, env)

    with client_for(args, env) as client:
        if args.dest == "-":
            if args.resume:
                return usage_error(args, "--resume needs a file: stdout cannot be resumed")
            with TransferProgress.for_stream(args.key, quiet=args.quiet) as bar:
                client.get(
                    args.key, sys.stdout.buffer, limit_rate=args.limit_rate,
                    progress=bar.advance, on_start=lambda stat, done: bar.start(stat.size, done),
                )  # fmt: skip
            return ExitStatus.OK
        dest = Path(args.dest)
        if dest.is_dir():
            dest = dest / args.key.rsplit("/", 1)[-1]
        args.resume_hint = f"; {dest}.part is kept: run again with --resume to continue"

        def started(stat: BlobStat, done: int) -> None:
            if done:
                note(args, f"resuming the download at byte {done} of {stat.size}")
            bar.start(stat.size, done)

        with TransferProgress.for_stream(args.key, quiet=args.quiet) as bar:
            client.get(
                args.key, dest, resume=args.resume, limit_rate=args.limit_rate,
                progress=bar.advance, state=ResumeState.default(env), on_start=started,
            )  # fmt: skip
    return ExitStatus.OK


__all__ = ["add_parsers"]
