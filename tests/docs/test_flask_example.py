"""The Flask example of the README and of the guide, run as a reader would copy it.

Good uploads answer their SHA-256, downloads honour Range and If-None-Match,
and a refused body is a 4xx problem document that leaves nothing in the folder.
"""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

ROOT = Path(__file__).resolve().parents[2]
SNIPPETS = {
    "README.md": r"## In your own Flask app\n\n```python\n(.*?)```",
    "docs/guide/flask.md": r"## Receive and send a big body\n\n```python\n(.*?)```",
}


def _app(page: str, folder: Path) -> Flask:
    code = re.search(SNIPPETS[page], (ROOT / page).read_text(), re.S)
    assert code is not None, f"{page}: the Flask example is gone"
    source = code.group(1).replace('Path("/srv/files")', f"Path({str(folder)!r})")
    namespace: dict[str, Any] = {"__name__": "example"}
    exec(compile(source, page, "exec"), namespace)
    app: Flask = namespace["app"]
    return app


def _digest(data: bytes) -> str:
    return "sha-256=:" + base64.b64encode(hashlib.sha256(data).digest()).decode() + ":"


@pytest.mark.parametrize("page", sorted(SNIPPETS))
def test_the_flask_example_works(page: str, tmp_path: Path) -> None:
    client = _app(page, tmp_path).test_client()
    body = bytes(range(256)) * 8192  # 2 MiB: the copy pipelines
    r = client.put("/files/a.bin", data=body, headers={"Content-Digest": _digest(body)})
    assert r.status_code == 200 and r.json == {"size": len(body), "sha256": _digest_hex(body)}

    with client.get("/files/a.bin", headers={"Range": "bytes=10-19"}) as r:
        assert r.status_code == 206 and r.data == body[10:20]
    with client.get("/files/a.bin", headers={"If-None-Match": '"v1"'}) as r:
        assert r.status_code == 304

    for headers in ({"Content-Digest": _digest(b"other")}, {"Content-Digest": "sha-256=:AAAA:"}):
        r = client.put("/files/b.bin", data=body, headers=headers)
        assert r.status_code == 400, r.data[:200]
        assert r.content_type == "application/problem+json"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.bin"]


def _digest_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
