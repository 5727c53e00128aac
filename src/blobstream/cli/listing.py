"""``blobstream ls``, ``stat``, ``rm`` and ``presign``: the small commands."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from blobstream.cli.remote import client_for, common_options, guarded, server_url, usage_error
from blobstream.cli.status import ExitStatus


def add_parsers(commands: Any) -> None:
    common = common_options()
    ls = commands.add_parser(
        "ls", parents=[common], help="list blobs by prefix",
        description="List blobs under PREFIX in key order, following the cursor page by page.",
    )  # fmt: skip
    ls.add_argument("prefix", metavar="PREFIX", nargs="?", default="", help="key prefix")
    ls.add_argument("-l", "--long", action="store_true", help="size, modified and key")
    ls.add_argument("--json", action="store_true", help="a JSON array of blob objects")
    ls.add_argument("--page-size", type=int, default=1000, help="keys per request (1000)")
    ls.set_defaults(handler=guarded(run_ls))

    stat = commands.add_parser(
        "stat", parents=[common], help="show one blob's size, ETag, SHA-256, type, modified"
    )
    stat.add_argument("key", metavar="KEY")
    stat.add_argument("--json", action="store_true", help="one JSON object")
    stat.set_defaults(handler=guarded(run_stat))

    rm = commands.add_parser("rm", parents=[common], help="delete a blob")
    rm.add_argument("key", metavar="KEY")
    rm.add_argument("--if-match", metavar="ETAG", help="delete only this version (else exit 7)")
    rm.set_defaults(handler=guarded(run_rm))

    presign = commands.add_parser(
        "presign", parents=[common], help="print a URL granting one method on one key",
        description="Sign a URL with BLOBSTREAM_SECRET; the URL is the last line printed.",
    )  # fmt: skip
    presign.add_argument("key", metavar="KEY")
    presign.add_argument("--method", default="GET", type=str.upper, choices=["GET", "PUT"])
    presign.add_argument("--expires", type=int, default=3600, metavar="SECONDS")
    presign.set_defaults(handler=guarded(run_presign))


def _human(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def run_ls(args: argparse.Namespace, env: dict[str, str]) -> int:
    out = sys.stdout
    with client_for(args, env) as client:
        if not 1 <= args.page_size <= 10000:
            return usage_error(args, "--page-size must be from 1 to 10000")
        blobs = client.list(args.prefix, page_size=args.page_size)
        if args.json:
            out.write("[")
            for i, blob in enumerate(blobs):
                out.write(("," if i else "") + "\n" + json.dumps(blob.to_json()))
            out.write("\n]\n")
            return ExitStatus.OK
        for blob in blobs:
            if args.long:
                modified = blob.to_json()["last_modified"] or "-"
                out.write(f"{blob.size:>15} {_human(blob.size):>10}  {modified}  {blob.key}\n")
            else:
                out.write(blob.key + "\n")
    out.flush()
    return ExitStatus.OK


def run_stat(args: argparse.Namespace, env: dict[str, str]) -> int:
    with client_for(args, env) as client:
        stat = client.stat(args.key)
    fields = stat.to_json()
    if args.json:
        print(json.dumps(fields))
        return ExitStatus.OK
    rows = [
        ("key", stat.key),
        ("size", f"{stat.size} ({_human(stat.size)})"),
        ("etag", stat.etag),
        ("sha256", stat.sha256 or "-"),
        ("content-type", stat.content_type),
        ("modified", fields["last_modified"] or "-"),
    ]
    for name, value in rows:
        print(f"{name + ':':<14}{value}")
    return ExitStatus.OK


def run_rm(args: argparse.Namespace, env: dict[str, str]) -> int:
    with client_for(args, env) as client:
        client.delete(args.key, if_match=args.if_match)
    return ExitStatus.OK


def run_presign(args: argparse.Namespace, env: dict[str, str]) -> int:
    from blobstream.auth.presign import presign_url

    secret = env.get("BLOBSTREAM_SECRET", "")
    if not secret:
        return usage_error(args, "set BLOBSTREAM_SECRET to the server's presign secret")
    if args.expires <= 0:
        return usage_error(args, "--expires must be a positive number of seconds")
    url = presign_url(server_url(args, env), args.key, args.method, args.expires, secret.encode())
    print(url)
    return ExitStatus.OK
