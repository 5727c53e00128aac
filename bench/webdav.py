"""WebDAV against the native API of the same server: PUT (Content-Length, chunked) and GET.

Both go to one ``blobstream serve`` (the ``blobstream`` server of the run), so
the ratio is the dialect's cost alone: ``PUT /dav/k`` against ``PUT /blobs/k``,
interleaved, order rotated every round, fresh keys, sync before each PUT.
Rows ``webdav-*`` compare the face ``bs-webdav`` with ``rest`` (target ≥ 0.9×).
"""

from __future__ import annotations

import urllib.request
from typing import TYPE_CHECKING

from bench.measure import MB, MiB, Result, get, human, make_body, put, settle, timed
from bench.servers import Server

if TYPE_CHECKING:
    from bench.scenarios import Bench


class Face(Server):
    """One dialect of an already running server: its own prefix, the same process."""

    def __init__(self, of: Server, name: str, prefix: str) -> None:  # no workdir, no process
        self.of = of
        self.name = name
        self.prefix = prefix
        self.base = of.base
        self.port = of.port
        self.proc = of.proc


def _faces(b: Bench) -> list[Face]:
    native = b.servers["blobstream"]
    mkcol = urllib.request.Request(native.base + "/dav/davbench/", method="MKCOL")
    try:
        with urllib.request.urlopen(mkcol, timeout=60) as r:
            r.read()
    except urllib.error.HTTPError as exc:  # 405: there already
        exc.close()
    return [Face(native, "bs-webdav", "/dav/"), Face(native, "rest", "/blobs/")]


def webdav(b: Bench) -> None:
    """``webdav-put-cl``, ``webdav-put-chunked``, ``webdav-get`` of the large body."""
    faces = _faces(b)
    size = b.config.size
    body = make_body(size, f"large-{human(size)}")
    warm = make_body(64 * MiB, "warm")
    for face in faces:
        put(face, "davbench/warmup", warm)
        get(face, "davbench/warmup")
        face.delete("davbench/warmup")
    tag = f"@{human(size)}"
    held: dict[str, str] = {}
    for rnd in range(b.config.rounds):
        b.log(f"webdav round {rnd + 1}/{b.config.rounds}")
        order = faces[rnd % 2 :] + faces[: rnd % 2]
        for mode in ("cl", "chunked"):
            for face in order:
                if face.name in held:
                    face.delete(held.pop(face.name))
                settle()
                key = f"davbench/{b.run_id}-{rnd}-{mode}-{face.name}"
                ok, seconds, rss, cpu = timed(face, put, key, body, chunked=mode == "chunked")
                rate = size / seconds / MB if seconds else 0.0
                b.add(Result(f"webdav-put-{mode}{tag}", face.name, rate, round=rnd, rss=rss,
                             ok=ok, extra=cpu))  # fmt: skip
                held[face.name] = key
        for face in order:
            ok, seconds, rss, cpu = timed(face, get, held[face.name])
            rate = size / seconds / MB if seconds else 0.0
            b.add(Result(f"webdav-get{tag}", face.name, rate, round=rnd, rss=rss, ok=ok,
                         extra=cpu))  # fmt: skip
    for face in faces:
        face.delete(held.pop(face.name))
