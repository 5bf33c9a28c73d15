"""A review that waits past every lease of a Prefect server left at its defaults.

The client side of Prefect renews a deployment's concurrency lease every 225 s
(300 s x 0.75, fixed in the flow engine, no setting shortens it) and the server
keeps a lease 300 s: a run paused for review must still be Paused after both,
then finish with exactly the approved posts when resumed through the UI's API.
This is the test that would have caught issue 14 (runs crashed ~4 min into a
review); the fast one in test_e2e_deployments.py shortens what the server
lets us shorten.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.prefectserver import project_copy, started_or_fail, stop
from tests.test_e2e_deployments import (POOL, _final, _ledger_events, _paused, _resume, _resume_form,
                                        _sent, _trigger)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

PAUSED_FOR = 320  # seconds: past the client's renewal (225 s) and the server's default lease (300 s)


@pytest.fixture(scope="module")
def server():
    yield from started_or_fail()  # Prefect's defaults: nothing shortened


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    return project_copy(tmp_path_factory.mktemp("e2e-slow") / "site", REPO)


@pytest.fixture
def api(server):
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings({PREFECT_API_URL: server.api_url}):
        from prefect import get_client

        with get_client(sync_client=True) as client:
            yield client


def test_review_paused_past_the_default_leases_completes_with_the_approved_posts(server, site, api, tmp_path):
    env = server.env()
    server.cli("work-pool", "create", POOL, "--type", "process", env=env)
    server.cli("--no-prompt", "deploy", "--all", cwd=site, env=env, timeout=300)
    worker = server.start_worker(POOL, cwd=tmp_path, env={k: v for k, v in env.items() if not k.startswith("CITECAST_")},
                                 log_path=tmp_path / "worker.log")
    try:
        week = "2026-W49"
        run = _trigger(api, {"week": week, "dry_run": True, "review": True, "channels": ["x", "reddit"]})
        _paused(api, run.id)
        labels = _resume_form(server, run.id)["properties"]["approve"]["items"]["enum"]
        t0 = time.monotonic()
        while time.monotonic() - t0 < PAUSED_FOR:
            state = api.read_flow_run(run.id).state
            assert state.is_paused(), f"{state} after {time.monotonic() - t0:.0f} s paused"
            time.sleep(10)
        approved = sorted(labels)[:3]
        assert _resume(server, run.id, {"decision": "approve some", "approve": approved})["status"] == "ACCEPT"
        run = _final(api, run.id, server, timeout=300)
        assert run.state.is_completed(), f"{run.state}: {(tmp_path / 'worker.log').read_text(errors='replace')[-3000:]}"
    finally:
        stop(worker)
    keys = {x[x.rindex("[") + 1 : -1] for x in approved}
    assert set(_sent(site, week)) == {f"{k}:{week}:0" for k in keys}
    assert Counter(e.status for e in _ledger_events(site, week)) == {"dry_run": 3, "rejected": len(labels) - 3}
