"""cadaver, scripted: mkcol, put, get, move, propset/propget, lock/unlock, ls, rmcol."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from pathlib import Path

from tests.dav.conftest import WRITE, DavServer

SCRIPT = """\
mkcol {top}
cd {top}
put local.txt a.txt
get a.txt back.txt
move a.txt b.txt
propset b.txt colour blue
propget b.txt colour
lock b.txt
unlock b.txt
ls
cd ..
quit
"""


def test_a_cadaver_session(dav_server: DavServer, tmp_path: Path) -> None:
    cadaver = shutil.which("cadaver")
    assert cadaver, "cadaver is not installed (scripts/system-deps.sh installs it)"
    top = f"cad-{uuid.uuid4().hex[:8]}"
    (tmp_path / "local.txt").write_text("hello cadaver\n")
    netrc = tmp_path / ".netrc"
    netrc.write_text(f"machine 127.0.0.1 login cadaver password {WRITE}\n")
    netrc.chmod(0o600)
    done = subprocess.run(
        [cadaver, dav_server.dav],
        input=SCRIPT.format(top=top),
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "HOME": str(tmp_path)},
        timeout=60,
    )
    out = done.stdout + done.stderr
    assert out.count("succeeded") == 8, out
    assert "Value of colour is: blue" in out, out
    assert "failed" not in out.lower(), out
    assert (tmp_path / "back.txt").read_text() == "hello cadaver\n"
    listed = dav_server.session().get(f"{dav_server.url}/blobs", params={"prefix": f"{top}/"})
    assert [b["key"] for b in listed.json()["blobs"]] == [f"{top}/b.txt"]
