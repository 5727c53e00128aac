"""``blobstream put`` and ``blobstream get``: verified, resumable, paced transfers.

``put`` of a file or of stdin is one chunked PUT, hashed while it is read,
with ``Content-Digest`` in the trailer section: the server checks it before
committing (a mismatch stores nothing and exits VERIFICATION), and the SHA-256
it answers is compared with the one sent. With ``--resume`` (or for files of
at least ``--tus-threshold``) the file goes through tus in chunks and can be
resumed. ``get`` writes ``DEST.part`` and renames it only once its SHA-256
matches ``Repr-Digest``.
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
    put.add_argument("src", metavar="SRC", help="file to upload, or - for stdin")
    put.add_argument("key", metavar="KEY", help="blob key, e.g. isos/big.iso")
    put.add_argument("--resume", action="store_true", help="continue an interrupted upload (tus)")
    put.add_argument("--limit-rate", type=_rate, metavar="RATE", help="at most RATE bytes/s (8M)")
    put.add_argument("--content-type", help="stored media type (default: guessed from SRC)")
    put.add_argument("--no-clobber", action="store_true", help="fail (exit 7) if KEY exists")
    put.add_argument(
        "--tus-threshold", type=_size, default=None, metavar="SIZE",
        help="files at least this large go through resumable tus uploads (default: --resume only)",
    )  # fmt: skip
    put.add_argument(
        "--chunk-size", type=_size, default="16M", metavar="SIZE",
        help="bytes per tus PATCH (16M)",
    )  # fmt: skip
    put.set_defaults(handler=guarded(run_put))

    get = commands.add_parser(
        "get", parents=[common], help="download a blob to a file or stdout", description=__doc__
    )
    get.add_argument("key", metavar="KEY", help="blob key")
    get.add_argument("dest", metavar="DEST", help="file or directory to write, or - for stdout")
    get.add_argument("--resume", action="store_true", help="continue DEST.part (Range, If-Range)")
    get.add_argument("--limit-rate", type=_rate, metavar="RATE", help="at most RATE bytes/s (8M)")
    get.set_defaults(handler=guarded(run_get))


def run_put(args: argparse.Namespace, env: dict[str, str]) -> int:
    from blobstream.client import ResumeState

    if args.chunk_size <= 0:
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
            return usage_error(args, f"{args.src} is a directory: put takes one file")
        if not path.exists():
            raise FileNotFoundError(2, "no such file", args.src)
        if args.resume and not path.is_file():
            return usage_error(args, "--resume needs a regular file, not a pipe or device")
        size = path.stat().st_size if path.is_file() else None
        threshold = args.tus_threshold
        resumable = args.resume or (None not in (size, threshold) and size >= threshold)
        if resumable:
            args.resume_hint = RESUME_HINT

        def resuming(offset: int, total: int) -> None:
            note(args, f"resuming the upload at byte {offset} of {total}")

        with TransferProgress.for_stream(args.key, quiet=args.quiet, total=size) as bar:
            if args.resume:
                client.upload_resumable(
                    args.key, path, content_type=args.content_type, chunk_size=args.chunk_size,
                    limit_rate=args.limit_rate, progress=bar.advance, state=state,
                    resume=args.resume, if_none_match=args.no_clobber, on_resume=resuming,
                )  # fmt: skip
            else:
                client.put(
                    args.key, path, content_type=args.content_type, limit_rate=args.limit_rate,
                    progress=bar.advance, resumable_threshold=args.tus_threshold,
                    chunk_size=args.chunk_size,
                    if_none_match=args.no_clobber, state=state,
                )  # fmt: skip
    return ExitStatus.OK


def run_get(args: argparse.Namespace, env: dict[str, str]) -> int:
    from blobstream.client import BlobStat, ResumeState

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
