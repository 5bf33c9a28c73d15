"""Scale-out: runs of the same week started at once against one PostgreSQL ledger post each key once.

The PostgreSQL server is started by the test from Debian's binaries; the tests
skip with the reason where none can be started.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import multiprocessing
from collections import Counter

import pytest

from tests.pgserver import started_or_skip

pytestmark = pytest.mark.postgres

WEEK = "2026-W48"
SHIPPED_POSTS = 15  # the shipped content: 5 pages x 3 channels


@pytest.fixture(scope="module")
def pg():
    yield from started_or_skip()


_dbs = iter(range(1, 1000))


@pytest.fixture
def pg_ledger(pg, project, monkeypatch) -> str:
    """A fresh database for this test, migrated, set as the project's ledger."""
    url = pg.create_database(f"ledger_{next(_dbs)}")
    monkeypatch.setenv("CITECAST_LEDGER__URL", url)
    from citecast.ledger.store import Ledger

    Ledger(url).close()  # migrate once, as a deploy step would, before the runs race
    return url


def _events(url: str):
    from citecast.ledger.store import Ledger

    ledger = Ledger(url, migrate=False)
    try:
        return ledger.events(slot=WEEK)
    finally:
        ledger.close()


def _assert_each_key_once(project, url: str) -> None:
    sent = Counter(record["key"] for record in project.sent())
    dupes = {k: n for k, n in sent.items() if n > 1}
    assert not dupes, f"posted more than once: {dupes}"
    events = _events(url)
    assert len(sent) == SHIPPED_POSTS, (
        f"{len(sent)} of {SHIPPED_POSTS} posts went out; ledger: {Counter(e.status for e in events)} "
        "(none at all: Ledger.claim refused every claim on PostgreSQL)")
    assert len(events) == SHIPPED_POSTS
    assert Counter(e.status for e in events) == {"dry_run": SHIPPED_POSTS}
    assert {f"{e.page}:{e.channel}:{e.slot}:{e.seq}" for e in events} == set(sent)


def test_two_cli_runs_of_the_same_week_at_once_post_each_key_once(project, pg_ledger):
    cli = [sys.executable, "-m", "citecast.cli", "run", "--local", "--week", WEEK, "--json"]
    env = dict(os.environ)
    procs = [subprocess.Popen(cli, cwd=project.root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(2)]
    results = []
    try:
        for proc in procs:
            out, errs = proc.communicate(timeout=180)
            assert proc.returncode == 0, errs
            results.append(json.loads(out))
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
    _assert_each_key_once(project, pg_ledger)
    done = sum(r["counts"].get("dry_run", 0) for r in results)
    assert done == SHIPPED_POSTS, [r["counts"] for r in results]


def _race(barrier, queue) -> None:
    """One run of the week in a fresh process, started when all of them are ready."""
    from citecast.distribution import run as pipeline
    from citecast.settings import load_settings
    from citecast.distribution.summary import summary_dict

    settings = load_settings()
    barrier.wait(timeout=60)
    try:
        queue.put(summary_dict(pipeline.run_week(settings, pipeline.RunOptions(week=WEEK))))
    except BaseException as exc:
        queue.put({"error": repr(exc)})


def test_four_runs_released_together_post_each_key_once(project, pg_ledger):
    ctx = multiprocessing.get_context("spawn")
    barrier, queue = ctx.Barrier(4), ctx.Queue()
    procs = [ctx.Process(target=_race, args=(barrier, queue)) for _ in range(4)]
    for p in procs:
        p.start()
    try:
        results = [queue.get(timeout=180) for _ in procs]
    finally:
        for p in procs:
            p.join(timeout=30)
            if p.is_alive():
                p.kill()
    assert not [r for r in results if "error" in r], results
    _assert_each_key_once(project, pg_ledger)
    assert sum(r["counts"].get("dry_run", 0) for r in results) == SHIPPED_POSTS, [r["counts"] for r in results]


def test_concurrent_first_runs_on_an_empty_database(project, pg):
    """Two workers starting at once on a new database: the schema is created once, nothing posts twice."""
    url = pg.create_database("fresh_start")
    env = dict(os.environ, CITECAST_LEDGER__URL=url)
    cli = [sys.executable, "-m", "citecast.cli", "run", "--local", "--week", WEEK, "--json"]
    procs = [subprocess.Popen(cli, cwd=project.root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(2)]
    outputs = []
    try:
        for proc in procs:
            outputs.append((proc.returncode, *proc.communicate(timeout=180)))
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
    failed = [errs for proc, (_, _, errs) in zip(procs, outputs) if proc.returncode != 0]
    assert not failed, failed[0][-3000:]
    _assert_each_key_once(project, url)
