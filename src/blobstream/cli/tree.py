"""``put -r DIR PREFIX`` and ``get -r PREFIX DIR``: whole trees, ``-j N`` files at a time.

Unchanged files (same size and SHA-256 as the other side) are skipped; every
other file is a verified, resumable transfer of its own. A line per file, one
overall progress bar on a terminal, a summary at the end, and exit status 1
when any file failed (the others still went).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from blobstream.cli.progress import TreeProgress
from blobstream.cli.remote import client_for, note, usage_error
from blobstream.cli.status import ExitStatus


def _human(size: int) -> str:
    from blobstream.cli.listing import _human as human

    return human(size)


def run_put_tree(args: argparse.Namespace, env: dict[str, str]) -> int:
    from blobstream.client import ResumeState
    from blobstream.client.tree import put_tree

    root = Path(args.src)
    if not root.is_dir():
        return usage_error(args, f"put -r needs a directory, not {args.src}")
    for flag in ("limit_rate", "content_type", "no_clobber", "chunk_size"):
        if getattr(args, flag):
            return usage_error(args, f"--{flag.replace('_', '-')} is for one file, not with -r")
    args.resume_hint = "; run the same command with --resume to continue"
    with client_for(args, env) as client, TreeProgress("put", quiet=args.quiet) as bar:
        result = put_tree(
            client, root, args.key, jobs=args.jobs, resume=args.resume,
            state=ResumeState.default(env), progress=bar.advance,
            on_file=lambda o: bar.file_done(o.status, o.key, o.size, o.error),
            on_found=lambda item: bar.found(item.size),
        )  # fmt: skip
    return _summary(args, result)


def run_get_tree(args: argparse.Namespace, env: dict[str, str]) -> int:
    from blobstream.client import ResumeState
    from blobstream.client.tree import get_tree

    if args.dest == "-":
        return usage_error(args, "get -r needs a directory, not stdout")
    if args.limit_rate:
        return usage_error(args, "--limit-rate is for one file, not with -r")
    args.resume_hint = "; run the same command with --resume to continue"
    with client_for(args, env) as client, TreeProgress("get", quiet=args.quiet) as bar:
        result = get_tree(
            client, args.key, Path(args.dest), jobs=args.jobs, resume=args.resume,
            state=ResumeState.default(env), progress=bar.advance,
            on_file=lambda o: bar.file_done(o.status, o.key, o.size, o.error),
            on_found=lambda item: bar.found(item.size),
        )  # fmt: skip
    return _summary(args, result)


def _summary(args: argparse.Namespace, result: object) -> int:
    from blobstream.client.tree import TreeResult

    assert isinstance(result, TreeResult)
    total = result.sent + result.unchanged + len(result.failed)
    verb = "sent" if args.command == "put" else "received"
    line = (
        f"{total} files: {result.sent} {verb} ({_human(result.bytes)}), "
        f"{result.unchanged} unchanged, {len(result.failed)} failed"
    )
    if result.failed:
        print(f"blobstream {args.command}: {line}", file=sys.stderr, flush=True)
        return ExitStatus.ERROR
    note(args, line)
    return ExitStatus.OK
