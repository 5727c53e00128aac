"""REDbot, the HTTP linter, finds nothing bad nor worth a warning in GET and HEAD of a blob."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.acceptance.helpers import put, unique
from tests.support import Server

# REDbot's own loop (thor) runs in a child process: it owns its sockets there.
CHECK = """
import json, sys
from configparser import ConfigParser
import thor
from redbot.resource import HttpResource

url, method = sys.argv[1], sys.argv[2]
config = ConfigParser()
config.read_dict({"redbot": {"enable_local_access": "True"}})
resource = HttpResource(config["redbot"])
resource.set_request(url, method=method)

@thor.events.on(resource)
def check_done():
    thor.stop()

resource.check()
thor.schedule(60, thor.stop)
thor.run()

def notes(fetcher):
    for note in fetcher.response.notes:
        yield note
        yield from note.subnotes

found = [
    {"level": n.level.value, "summary": n.summary, "check": name}
    for name, fetcher in [("default", resource), *resource.subreqs.items()]
    for n in notes(fetcher)
]
print(json.dumps({
    "done": resource.check_done,
    "status": resource.response.status_code,
    "error": str(resource.fetch_error) if resource.fetch_error else None,
    "notes": found,
}))
"""


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_redbot_reports_no_problem(server: Server, method: str) -> None:
    key = unique("redbot") + "/page.txt"
    assert put(server, key, b"REDbot checks this blob.\n" * 100, **{"Content-Type": "text/plain"})
    run = subprocess.run(
        [sys.executable, "-c", CHECK, f"{server.url}/blobs/{key}", method],
        capture_output=True,
        timeout=90,
        check=True,
    )
    report = json.loads(run.stdout)
    assert report["done"] and report["error"] is None, report
    assert report["status"] == 200
    assert report["notes"], "REDbot found nothing to say: it did not check"
    problems = [n for n in report["notes"] if n["level"] in ("bad", "warning")]
    assert problems == [], problems
