"""Crash consistency, fast variant: a few ``kill -9`` rounds during writes and replaces.

The long loop is ``make stress``. ``tests/acceptance/test_failures.py`` kills
once during one slow replace; this kills at random moments under several
concurrent writers and audits every key and every file after each restart.
"""

from __future__ import annotations

import random
from pathlib import Path

from tests.hardening.crashing import KeyHistory, RoundResult, crash_round, orphans
from tests.support import Server

ROUNDS = 4


def test_kill_9_at_random_moments_loses_and_tears_nothing(tmp_path: Path) -> None:
    root = tmp_path / "data"
    srv = Server(root.as_uri(), tmp_path / "server.log").start()
    rng = random.Random(11)
    histories = {f"crash/{i}": KeyHistory() for i in range(6)}
    result = RoundResult()
    try:
        for _ in range(ROUNDS):
            crash_round(srv, histories, rng, result)
            extra, missing, leftovers = orphans(root)
            assert not extra, f"data files no key points to: {extra}"
            assert not missing, f"keys whose data file is gone: {missing}"
            assert not leftovers, f"temporary files left after start-up: {leftovers}"
    finally:
        srv.stop()
    assert result.rounds == ROUNDS and result.verified > 0
    assert sum(h.acks for h in histories.values()) > 0
    print(
        f"crash rounds {result.rounds}, blobs verified {result.verified}, "
        f"acknowledged writes {sum(h.acks for h in histories.values())}, "
        f"in-flight versions that committed {result.interrupted}"
    )
