"""What every client command shares: ``--url``/``--token``/``--quiet``, and failures as exit codes.

Each failure is one line on stderr and its own exit status (``status.py``);
Ctrl-C exits 130, leaving whatever can be resumed in place.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from blobstream.cli.status import ExitStatus

if TYPE_CHECKING:
    from blobstream.client import Client

DEFAULT_URL = "http://127.0.0.1:8080"
Handler = Callable[[argparse.Namespace, dict[str, str]], int]


def common_options() -> argparse.ArgumentParser:
    """The options of every client command (a parent parser)."""
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--url", help=f"server URL (env BLOBSTREAM_URL; {DEFAULT_URL})")
    p.add_argument("--token", help="bearer token (env BLOBSTREAM_TOKEN)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar or notes")
    return p


def server_url(args: argparse.Namespace, env: Mapping[str, str]) -> str:
    return str(args.url or env.get("BLOBSTREAM_URL") or DEFAULT_URL)


def client_for(args: argparse.Namespace, env: Mapping[str, str]) -> Client:
    from blobstream.client import Client

    return Client(server_url(args, env), args.token or env.get("BLOBSTREAM_TOKEN") or None)


def note(args: argparse.Namespace, message: str) -> None:
    """A line for the person at the terminal (stderr), unless ``--quiet``."""
    if not args.quiet:
        print(f"blobstream {args.command}: {message}", file=sys.stderr, flush=True)


def guarded(handler: Handler) -> Handler:
    """Run a command, turning every expected failure into one line and an exit status."""

    def run(args: argparse.Namespace, env: dict[str, str]) -> int:
        from blobstream.client import errors

        signal.signal(signal.SIGINT, signal.default_int_handler)
        prefix = f"blobstream {args.command}"
        statuses: list[tuple[type[errors.ClientError], ExitStatus]] = [
            (errors.InvalidKeyError, ExitStatus.USAGE),
            (errors.NotFoundError, ExitStatus.NOT_FOUND),
            (errors.RefusedError, ExitStatus.REFUSED),
            (errors.ConnectionFailed, ExitStatus.CONNECTION),
            (errors.VerificationError, ExitStatus.VERIFICATION),
            (errors.ConflictError, ExitStatus.CONFLICT),
        ]
        try:
            return handler(args, env)
        except errors.ClientError as exc:
            resumable = isinstance(exc, errors.ConnectionFailed | errors.ServerError)
            hint = getattr(args, "resume_hint", "") if resumable else ""
            print(f"{prefix}: {exc.message}{hint}", file=sys.stderr)
            for kind, status in statuses:
                if isinstance(exc, kind):
                    return status
            return ExitStatus.ERROR
        except KeyboardInterrupt:
            hint = getattr(args, "resume_hint", "")
            newline = "\n" if sys.stderr.isatty() else ""  # past the progress bar
            print(f"{newline}{prefix}: interrupted{hint}", file=sys.stderr)
            return ExitStatus.INTERRUPTED
        except BrokenPipeError:
            # The reader went away (``| head``): stop quietly, as cat does.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            return ExitStatus.ERROR
        except FileNotFoundError as exc:
            print(f"{prefix}: no such file: {exc.filename}", file=sys.stderr)
            return ExitStatus.NOT_FOUND
        except OSError as exc:
            where = f": {exc.filename}" if exc.filename else ""
            print(f"{prefix}: {exc.strerror or exc}{where}", file=sys.stderr)
            return ExitStatus.ERROR
        except ValueError as exc:
            print(f"{prefix}: {exc}", file=sys.stderr)
            return ExitStatus.USAGE

    return run


def usage_error(args: argparse.Namespace, message: str) -> int:
    print(f"blobstream {args.command}: {message}", file=sys.stderr)
    return ExitStatus.USAGE
