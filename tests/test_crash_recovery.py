"""Killing a run at any point and running again: no duplicate post, no lost post."""

from __future__ import annotations

import collections
import os
import random
import signal
import subprocess
import sys
import time

import pytest

from citecast.ledger import Ledger
from tests.conftest import good_page

PAGES = 50


def _start_run(project) -> subprocess.Popen:
    env = {**os.environ, "CITECAST_CONFIG": str(project.config), "CITECAST_DISTRIBUTION__MAX_PAGES_PER_WEEK": str(PAGES)}
    return subprocess.Popen(
        [sys.executable, "-m", "citecast.cli", "run", "--local", "--week", "2026-W48", "--json"],
        cwd=project.root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )


@pytest.mark.slow
def test_sigkill_at_random_points_then_rerun(empty_project):
    project = empty_project
    for i in range(PAGES):
        project.write_page(f"p{i:02}.md", good_page(f"p{i:02}"))
    rng = random.Random(48)
    kills = 0
    for trial in range(6):
        before = len(project.sent())
        proc = _start_run(project)
        # Kill once the run is publishing (or right at the start, for some trials).
        deadline = time.monotonic() + 30
        while trial % 3 and len(project.sent()) == before and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
        time.sleep(rng.uniform(0.0, 0.15))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.wait(timeout=60)
        sent = collections.Counter(p["key"] for p in project.sent())
        assert [k for k, n in sent.items() if n > 1] == [], f"duplicates after trial {trial}"

    final = _start_run(project)
    out, errors = final.communicate(timeout=120)
    assert final.returncode == 0, errors.decode()
    assert kills >= 3  # the trials really interrupted runs

    sent = collections.Counter(p["key"] for p in project.sent())
    expected = {f"p{i:02}:{ch}:2026-W48:0" for i in range(PAGES) for ch in ("x", "linkedin", "reddit")}
    assert set(sent) == expected  # nothing lost
    assert set(sent.values()) == {1}  # nothing twice

    ledger = Ledger(project.settings().ledger_url)
    rows = ledger.events(limit=None)
    ledger.close()
    assert len(rows) == len(expected)
    assert {r.status for r in rows} == {"dry_run"}
    for r in rows:
        assert (project.outbox / "2026-W48" / r.channel / f"{r.page}.md").exists()
