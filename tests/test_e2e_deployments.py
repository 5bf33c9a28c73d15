"""End to end, the way teams run citecast: a real Prefect server, the repository's
own prefect.yaml deployed to a process work pool, a worker, runs triggered
through the API, approval sent through the API, schedules read from the server.

One server and one worker serve the whole module; the worker is stopped before
the server, also after a failure, and every wait is bounded.
"""

from __future__ import annotations

import json
import shutil
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml

from tests.conftest import REPO
from tests.pgserver import wait_for
from tests.prefectserver import PrefectServer, stop

e2e = pytest.mark.e2e  # the tests that use the server; the last ones check the same seams without it

POOL = "citecast"
DEPLOYMENT = "weekly-distribution/weekly-distribution"
RUN_TIMEOUT = 180  # seconds for one flow run, from trigger to final state


@pytest.fixture(scope="module")
def server():
    srv = PrefectServer(server_env={
        # Enough scheduled runs to cover a year, so the next runs cross both DST changes.
        "PREFECT_SERVER_SERVICES_SCHEDULER_MIN_RUNS": "55",
        "PREFECT_SERVER_SERVICES_SCHEDULER_MAX_RUNS": "60",
        "PREFECT_SERVER_SERVICES_SCHEDULER_MAX_SCHEDULED_TIME": "P400D",
        "PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS": "2",
    })
    try:
        srv.start()
    except RuntimeError as exc:
        srv.stop()
        pytest.fail(f"could not start a Prefect server: {exc}")
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """A copy of the project as a team would deploy it: prefect.yaml, flows, settings, pages, templates."""
    root = tmp_path_factory.mktemp("e2e") / "site"
    root.mkdir()
    for name in ("prefect.yaml", "citecast.toml"):
        shutil.copy(REPO / name, root / name)
    for name in ("flows", "content", "templates"):
        shutil.copytree(REPO / name, root / name, ignore=shutil.ignore_patterns("__pycache__"))
    return root


@pytest.fixture(scope="module")
def deployed(server, site):
    env = server.env()
    server.cli("work-pool", "create", POOL, "--type", "process", env=env)
    t0 = time.monotonic()
    out = server.cli("--no-prompt", "deploy", "--all", cwd=site, env=env, timeout=180)
    assert "weekly-distribution" in out.stdout
    return {"deploy_seconds": time.monotonic() - t0}


@pytest.fixture(scope="module")
def worker(server, site, deployed, tmp_path_factory):
    log = tmp_path_factory.mktemp("worker") / "worker.log"
    env = {k: v for k, v in server.env().items() if not k.startswith("CITECAST_")}
    proc = server.start_worker(POOL, cwd=tmp_path_factory.mktemp("worker-cwd"), env=env, log_path=log)
    try:
        yield proc
    finally:
        stop(proc)  # before the server (the server fixture finishes after this one)
        if proc.returncode not in (0, None, -15, 143):
            print(log.read_text(errors="replace")[-3000:])


@pytest.fixture
def api(server):
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings({PREFECT_API_URL: server.api_url}):
        from prefect import get_client

        with get_client(sync_client=True) as client:
            yield client


def _wait(check, timeout: float, what: str, interval: float = 0.5):
    value = wait_for(check, timeout, interval)
    if not value:
        raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
    return value


def _trigger(api, parameters: dict):
    deployment = api.read_deployment_by_name(DEPLOYMENT)
    return api.create_flow_run_from_deployment(deployment.id, parameters=parameters)


def _final(api, run_id, server, timeout: float = RUN_TIMEOUT):
    def done():
        run = api.read_flow_run(run_id)
        return run if run.state and run.state.is_final() else None

    try:
        return _wait(done, timeout, f"flow run {run_id} to finish")
    except AssertionError:
        raise AssertionError(f"flow run {run_id} did not finish; server log:\n{server.log_tail()}")


def _ledger_events(site: Path, week: str):
    from citecast.ledger.store import Ledger

    ledger = Ledger(f"sqlite:///{site / '.citecast' / 'ledger.db'}", migrate=False)
    try:
        return ledger.events(slot=week)
    finally:
        ledger.close()


def _sent(site: Path, week: str) -> Counter:
    log = site / "outbox" / "sent.jsonl"
    lines = log.read_text(encoding="utf-8").splitlines() if log.exists() else []
    return Counter(json.loads(line)["key"] for line in lines if f":{week}:" in line)


def _artifacts(api, run_id) -> dict[str, object]:
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    found = api.read_artifacts(artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[run_id])))
    return {a.key: a for a in found}


@e2e
def test_deployed_flow_has_a_form_editors_understand(api, deployed):
    schema = api.read_deployment_by_name(DEPLOYMENT).parameter_openapi_schema
    props = schema["properties"]
    assert list(props)[:7] == ["pages", "channels", "dry_run", "week", "force", "review", "review_timeout_hours"]
    assert all(p.get("description") for p in props.values())
    assert schema["definitions"]["ChannelName"]["enum"] == ["x", "linkedin", "reddit", "bluesky", "mastodon"]
    assert props["review"]["type"] == "boolean" and props["review"]["default"] is False
    assert props["week"]["anyOf"][0]["pattern"]


@e2e
def test_pull_step_runs_flows_from_the_project_root(api, deployed, site):
    deployment = api.read_deployment_by_name(DEPLOYMENT)
    (step,) = deployment.pull_steps
    assert step == {"prefect.deployments.steps.set_working_directory": {"directory": str(site.resolve())}}
    assert deployment.entrypoint == "flows/distribute.py:weekly_distribution"


@e2e
def test_weekly_distribution_through_the_api(api, worker, site, server):
    t0 = time.monotonic()
    run = _trigger(api, {"week": "2026-W48", "dry_run": True, "channels": ["x", "linkedin", "reddit"]})
    run = _final(api, run.id, server)
    elapsed = time.monotonic() - t0
    assert run.state.is_completed(), f"{run.state}: see the run's logs"
    events = _ledger_events(site, "2026-W48")
    assert Counter(e.status for e in events) == {"dry_run": 15}
    sent = _sent(site, "2026-W48")
    assert len(sent) == 15 and set(sent.values()) == {1}
    artifacts = _artifacts(api, run.id)
    assert "weekly-distribution" in artifacts and "15 dry run" in artifacts["weekly-distribution"].data
    posts = json.loads(artifacts["weekly-distribution-posts"].data)
    assert len(posts) == 15 and all(p["link"].startswith("file://") for p in posts)
    print(f"one distribution run through the worker: {elapsed:.1f} s")


@e2e
def test_review_pauses_until_an_editor_decides(api, worker, site, server):
    from prefect.flow_runs import resume_flow_run
    from prefect.input.run_input import keyset_from_paused_state
    from prefect.settings import PREFECT_API_URL, temporary_settings

    week = "2026-W49"
    run = _trigger(api, {"week": week, "dry_run": True, "review": True})

    def paused():
        r = api.read_flow_run(run.id)
        if r.state and r.state.is_final():
            raise AssertionError(f"the run ended before asking for review: {r.state}")
        return r if r.state and r.state.is_paused() else None

    paused_run = _wait(paused, RUN_TIMEOUT, "the run to pause for review")
    assert _sent(site, week) == Counter(), "nothing may be posted before the review"
    drafts = sorted((site / "outbox" / "review" / week).glob("*/*.md"))
    assert "weekly-distribution-review" in _artifacts(api, run.id)

    # The form the UI shows: a decision, the posts to approve as a multi-select, a reason.
    keyset = keyset_from_paused_state(paused_run.state)

    def schema():  # the run saves its form right after it pauses
        try:
            return api.read_flow_run_input(run.id, keyset["schema"])
        except Exception:
            return None

    form = json.loads(_wait(schema, 30, "the review form"))
    keys = form["properties"]["approve"]["items"]["enum"]
    # A week after the first run only the weekly pages are due again.
    assert len(keys) == len(drafts) >= 3 and all(k.count(":") == 1 for k in keys)
    assert set(form["definitions"]["Decision"]["enum"]) == {"approve all", "approve some", "reject all"}

    approved = sorted(keys)[:2]
    with temporary_settings({PREFECT_API_URL: server.api_url}):
        resume_flow_run(run.id, run_input={"decision": "approve some", "approve": approved,
                                           "reason": "too salesy for this week"})
    run = _final(api, run.id, server)
    assert run.state.is_completed(), str(run.state)

    assert set(_sent(site, week)) == {f"{k}:{week}:0" for k in approved}
    events = _ledger_events(site, week)
    by_status = Counter(e.status for e in events)
    assert by_status == {"dry_run": 2, "rejected": len(keys) - 2}
    for e in events:
        if e.status == "rejected":
            assert "too salesy for this week" in e.error
            assert f"{e.page}:{e.channel}" not in approved


@e2e
def test_review_that_nobody_answers_publishes_nothing(api, worker, site, server):
    week = "2026-W50"
    run = _trigger(api, {"week": week, "dry_run": True, "review": True, "review_timeout_hours": 3 / 3600})
    run = _final(api, run.id, server)
    # The server may fail the run when the pause expires, before the process has written its summary.
    summary = _wait(lambda: _artifacts(api, run.id).get("weekly-distribution"), 30, "the run summary").data
    assert _sent(site, week) == Counter()
    assert _ledger_events(site, week) == []  # nothing claimed: the next run reviews them again
    assert "nothing was published" in summary


@e2e
def test_schedules_are_mondays_at_nine_in_london_across_dst(api, deployed):
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId, FlowRunFilter, FlowRunFilterState
    from prefect.client.schemas.filters import FlowRunFilterStateType
    from prefect.client.schemas.objects import StateType

    deployment = api.read_deployment_by_name(DEPLOYMENT)
    (schedule,) = deployment.schedules
    assert schedule.schedule.cron == "0 9 * * 1" and schedule.schedule.timezone == "Europe/London"

    def scheduled():
        runs = api.read_flow_runs(
            deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment.id])),
            flow_run_filter=FlowRunFilter(state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.SCHEDULED]))),
            limit=100,
        )
        return runs if len(runs) >= 53 else None

    runs = _wait(scheduled, 60, "the server's scheduler to plan a year of weekly runs", interval=1)
    london = ZoneInfo("Europe/London")
    starts = sorted(r.expected_start_time for r in runs)
    for start in starts:
        local = start.astimezone(london)
        assert (local.weekday(), local.hour, local.minute) == (0, 9, 0), local
    assert {s.utcoffset() for s in starts} == {timedelta(0)}
    assert {s.astimezone(london).utcoffset() for s in starts} == {timedelta(0), timedelta(hours=1)}  # GMT and BST
    assert {s.hour for s in starts} == {8, 9}  # in UTC: 08:00 in summer, 09:00 in winter


@e2e
def test_citecast_serve_runs_the_same_flow(api, server, site, worker, tmp_path):
    """The one-process alternative. Last of the server tests: serving re-registers the deployments
    under the same names, now served by this process instead of the work pool."""
    import subprocess
    import sys

    stop(worker)  # the pool's worker has nothing left to do; only the served process runs flows now
    # Serving over deployments that `prefect deploy` created leaves their storage settings half
    # replaced and the runs crash ("Downloading flow code from storage at None"): remove them first.
    for d in api.read_deployments():
        api.delete_deployment(d.id)
    env = server.env(CITECAST_CONFIG=str(site / "citecast.toml"))
    log = (tmp_path / "serve.log").open("wb")
    citecast = [sys.executable, "-c", "from citecast.cli import main; main()", "serve"]
    proc = subprocess.Popen(citecast, cwd=site, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        def served():
            text = (tmp_path / "serve.log").read_text(errors="replace")
            if proc.poll() is not None:
                raise AssertionError(text[-3000:])
            return "being served" in text

        _wait(served, 90, "citecast serve to register its deployments")
        week = "2026-W51"
        run = _final(api, _trigger(api, {"week": week, "dry_run": True}).id, server)
        assert run.state.is_completed(), (tmp_path / "serve.log").read_text(errors="replace")[-3000:]
    finally:
        stop(proc)
    done = [e for e in _ledger_events(site, week) if e.status == "dry_run"]
    sent = _sent(site, week)
    assert done and set(sent.values()) == {1} and len(sent) == len(done)


def test_serve_and_prefect_yaml_describe_the_same_deployments(project):
    from citecast.flows.serve import deployments

    spec = yaml.safe_load((REPO / "prefect.yaml").read_text())
    in_yaml = {d["name"]: d for d in spec["deployments"]}
    served = {d.name: d for d in deployments(project.settings())}
    assert set(served) == set(in_yaml)
    for name, d in served.items():
        (cron,) = d.schedules
        (expected,) = in_yaml[name]["schedules"]
        assert (cron.schedule.cron, cron.schedule.timezone) == (expected["cron"], expected["timezone"]), name
        assert in_yaml[name]["entrypoint"].split(":")[1] == d.entrypoint.split(":")[-1], name
        assert sorted(d.tags) == sorted(in_yaml[name]["tags"]), name
        assert d.description == in_yaml[name]["description"], name
        assert d.concurrency_limit == in_yaml[name].get("concurrency_limit"), name


# Without a server: the review seam the flow uses, on the SQLite ledger.

def test_review_seam_publishes_approved_and_logs_rejected_with_reason(project):
    from citecast.distribution import run as pipeline
    from citecast.ledger.store import Ledger
    from citecast.flows.approval import approval_form

    settings = project.settings()
    ledger = Ledger(settings.ledger_url)
    try:
        plan = pipeline.plan_week(settings, ledger, pipeline.RunOptions(week="2026-W48", dry_run=True))
        drafted = pipeline.draft_all(plan, ledger=ledger)
        text, folder = pipeline.write_review(plan, drafted)
        keys = pipeline.review_keys(drafted)
        assert len(keys) == 15 and all(f"`{k}`" in text for k in keys)
        assert len(list(folder.glob("*/*.md"))) == 15 and (folder / "README.md").exists()

        form = approval_form(keys)
        answer = form(decision="approve some", approve=keys[:3], reason="off-brand")
        approved = answer.approved(keys)
        assert approved == set(keys[:3])
        with pytest.raises(Exception):
            form(decision="approve some", approve=["no-such-page:x"])  # the form offers only this week's posts

        keep, drop = pipeline.split_review(drafted, approved)
        rejected = pipeline.reject_drafts(plan, ledger, drop, answer.reason)
        published = [o for ch in plan.channels for o in pipeline.publish_all(plan, ledger, keep, ch)]
        again = pipeline.reject_drafts(plan, ledger, drop, "second thoughts")
    finally:
        ledger.close()
    assert sorted(f"{o.page}:{o.channel}" for o in published if o.status == "dry_run") == sorted(approved)
    assert [o.status for o in rejected] == ["rejected"] * 12
    assert {o.status for o in again} == {"skipped"}  # the key is taken: a rejected post is not re-posted this week
    sent = {r["key"].rsplit(":", 2)[0] for r in project.sent()}
    assert sent == approved
    ledger = Ledger(settings.ledger_url, migrate=False)
    events = ledger.events(slot="2026-W48", status=["rejected"])
    ledger.close()
    assert len(events) == 12 and all(e.error == "rejected in review: off-brand" for e in events)


def test_approval_decisions():
    from citecast.flows.approval import approval_form

    keys = ["a:x", "a:reddit", "b:x"]
    form = approval_form(keys)
    assert form(decision="approve all").approved(keys) == set(keys)
    assert form(decision="reject all", reason="not this week").approved(keys) == set()
    assert form(decision="approve some", approve=["b:x"]).approved(keys) == {"b:x"}
    schema = form.model_json_schema()
    assert schema["properties"]["approve"]["items"]["enum"] == keys
