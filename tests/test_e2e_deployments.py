"""End to end, the way teams run citecast: a real Prefect server, the repository's
own prefect.yaml deployed to a process work pool, a worker, runs triggered
through the API, approval sent through the API, schedules read from the server.

One server and one worker serve the whole module; the worker is stopped before
the server, also after a failure, and every wait is bounded.
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
import yaml

from tests.conftest import REPO
from tests.pgserver import wait_for
from tests.prefectserver import project_copy, started_or_fail, stop

e2e = pytest.mark.e2e  # the tests that use the server; the last ones check the same seams without it

POOL = "citecast"
DEPLOYMENT = "weekly-distribution/weekly-distribution"
RUN_TIMEOUT = 180  # seconds for one flow run, from trigger to final state
# Every lease and expiry the server keeps, shortened (30 s is the shortest deployment lease
# Prefect accepts), so a review paused for LEASE_PASSED seconds has outlived them all.
SHORT_LEASES = {
    "PREFECT_SERVER_CONCURRENCY_INITIAL_DEPLOYMENT_LEASE_DURATION": "30",
    "PREFECT_SERVER_SERVICES_REPOSSESSOR_LOOP_SECONDS": "2",
    "PREFECT_SERVER_SERVICES_PAUSE_EXPIRATIONS_LOOP_SECONDS": "1",
}
LEASE_PASSED = 40


@pytest.fixture(scope="module")
def server():
    yield from started_or_fail({
        # Enough scheduled runs to cover a year, so the next runs cross both DST changes.
        "PREFECT_SERVER_SERVICES_SCHEDULER_MIN_RUNS": "55",
        "PREFECT_SERVER_SERVICES_SCHEDULER_MAX_RUNS": "60",
        "PREFECT_SERVER_SERVICES_SCHEDULER_MAX_SCHEDULED_TIME": "P400D",
        "PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS": "2",
        **SHORT_LEASES,
    })


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """A copy of the project as a team would deploy it: prefect.yaml, flows, settings, pages, templates."""
    return project_copy(tmp_path_factory.mktemp("e2e") / "site", REPO)


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
    # Visible defaults, and no "None" toggles: nothing may be null.
    assert "null" not in json.dumps(schema)
    assert props["pages"]["default"] == ["all due"] and props["pages"]["type"] == "array"
    assert props["channels"]["default"] == ["as configured"]
    assert schema["definitions"]["ChannelChoice"]["enum"] == ["as configured", "x", "linkedin", "reddit", "bluesky", "mastodon"]
    assert props["week"]["default"] == "this week" and "2026-W49" in props["week"]["description"]
    assert props["review"]["type"] == "boolean" and props["review"]["default"] is False
    assert api.read_deployment_by_name(DEPLOYMENT).global_concurrency_limit is None  # a paused run would lose its lease


@e2e
def test_a_malformed_week_fails_the_run_with_the_format(api, worker, server):
    run = _final(api, _trigger(api, {"week": "2026-49", "dry_run": True}).id, server)
    assert run.state.is_failed()
    assert "'2026-49' is not an ISO week: write an ISO week like 2026-W49" in run.state.message


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


def _paused(api, run_id):
    def check():
        r = api.read_flow_run(run_id)
        if r.state and r.state.is_final():
            raise AssertionError(f"the run ended before asking for review: {r.state}")
        return r if r.state and r.state.is_paused() else None

    return _wait(check, RUN_TIMEOUT, "the run to pause for review")


def _resume_form(server, run_id) -> dict:
    """What the UI's Resume button reads: the form's JSON schema, saved by the paused run."""
    run = httpx.get(f"{server.api_url}/flow_runs/{run_id}", timeout=30).json()
    keyset = run["state"]["state_details"]["run_input_keyset"]

    def schema():  # the run saves its form right after it pauses
        r = httpx.get(f"{server.api_url}/flow_runs/{run_id}/input/{keyset['schema']}", timeout=30)
        return r.json() if r.status_code == 200 else None

    return _wait(schema, 30, "the review form")


def _resume(server, run_id, run_input: dict) -> dict:
    """What the UI's Resume form sends: POST /flow_runs/{id}/resume with the form's values.

    A server error (SQLite busy on a loaded machine) rolls the request back; like an
    editor, click again."""
    for attempt in range(3):
        r = httpx.post(f"{server.api_url}/flow_runs/{run_id}/resume", json={"run_input": run_input}, timeout=60)
        if r.status_code < 500:
            assert r.status_code in (200, 201), f"{r.status_code}: {r.text}"
            return r.json()
        time.sleep(2)
    raise AssertionError(f"resume answered {r.status_code}: {r.text}\n{server.log_tail()}")


@e2e
def test_review_outlives_the_server_leases_then_posts_exactly_the_approved(api, worker, site, server):
    week = "2026-W49"
    run = _trigger(api, {"week": week, "dry_run": True, "review": True})
    _paused(api, run.id)
    assert _sent(site, week) == Counter(), "nothing may be posted before the review"
    drafts = sorted((site / "outbox" / "review" / week).glob("*/*.md"))
    assert "weekly-distribution-review" in _artifacts(api, run.id)

    form = _resume_form(server, run.id)
    assert form["properties"]["decision"]["default"] == "approve all"
    labels = form["properties"]["approve"]["items"]["enum"]
    # A week after the first run only the weekly pages are due again. Each post by title and channel.
    assert len(labels) == len(drafts) >= 3
    assert all(re.fullmatch(r"\S.* — (x|linkedin|reddit) \[[a-z0-9/-]+:(x|linkedin|reddit)\]", x) for x in labels), labels

    time.sleep(LEASE_PASSED)  # longer than every lease the server keeps (SHORT_LEASES)
    assert api.read_flow_run(run.id).state.is_paused()

    refused = _resume(server, run.id, {"decision": "approve some", "approve": ["no-such-page:x"]})
    assert refused["status"] == "REJECT" and api.read_flow_run(run.id).state.is_paused()
    approved = sorted(labels)[:2]
    answer = _resume(server, run.id, {"decision": "approve some", "approve": approved,
                                      "reason": "too salesy for this week"})
    assert answer["status"] == "ACCEPT", answer
    run = _final(api, run.id, server)
    assert run.state.is_completed(), str(run.state)

    keys = [x[x.rindex("[") + 1 : -1] for x in approved]
    assert set(_sent(site, week)) == {f"{k}:{week}:0" for k in keys}
    events = _ledger_events(site, week)
    assert Counter(e.status for e in events) == {"dry_run": 2, "rejected": len(labels) - 2}
    for e in events:
        if e.status == "rejected":
            assert "too salesy for this week" in e.error and f"{e.page}:{e.channel}" not in keys
    rows = json.loads(_artifacts(api, run.id)["weekly-distribution-posts"].data)
    for row in rows:
        assert row["channel"] and row["text"] and row["generator"] and "/" in row["length"]
        assert row["link"].startswith(("file://", "https://")) and f":{week}:" not in row["link"]


@e2e
def test_review_that_nobody_answers_fails_and_posts_nothing(api, worker, site, server):
    week = "2026-W50"
    run = _trigger(api, {"week": week, "dry_run": True, "review": True, "review_timeout_hours": 5 / 3600})
    _paused(api, run.id)
    run = _final(api, run.id, server)
    assert run.state.is_failed() and run.state.message == "review timed out after 5 s: nothing posted"
    summary = _artifacts(api, run.id)["weekly-distribution"].data
    assert summary.count("review timed out after 5 s: nothing posted") == 1 and "Nothing was due" not in summary
    waiting = len(list((site / "outbox" / "review" / week).glob("*/*.md")))
    assert waiting >= 3 and summary.count("not posted") == waiting + 1  # each waiting post, and the count
    assert _sent(site, week) == Counter()
    assert _ledger_events(site, week) == []  # nothing claimed: the next run reviews them again
    late = _resume(server, run.id, {"decision": "approve all"})
    assert late["status"] == "ABORT" and _sent(site, week) == Counter()


@e2e
def test_review_survives_a_server_restart_and_a_bare_resume_approves_all(api, worker, site, server):
    week = "2026-W52"
    run = _trigger(api, {"week": week, "dry_run": True, "review": True, "channels": ["x"]})
    _paused(api, run.id)
    waiting = {f"{p.stem}:x:{week}:0" for p in (site / "outbox" / "review" / week).glob("x/*.md")}
    stop(server.proc)  # say, the Prefect server is upgraded while the editor reads
    time.sleep(12)  # the paused run's polls fail meanwhile
    server.start()
    assert api.read_flow_run(run.id).state.is_paused()
    # A Resume with no input takes the form's defaults: approve all.
    assert _resume(server, run.id, {})["status"] == "ACCEPT"
    run = _final(api, run.id, server)
    assert run.state.is_completed(), str(run.state)
    assert waiting and set(_sent(site, week)) == waiting


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


def _serve(server, site, log_path: Path):
    import subprocess
    import sys

    env = server.env(CITECAST_CONFIG=str(site / "citecast.toml"))
    citecast = [sys.executable, "-c", "from citecast.cli import main; main()", "serve"]
    proc = subprocess.Popen(citecast, cwd=site, env=env, stdout=log_path.open("wb"), stderr=subprocess.STDOUT,
                            start_new_session=True)

    def served():
        text = log_path.read_text(errors="replace")
        if proc.poll() is not None:
            raise AssertionError(text[-3000:])
        return "being served" in text

    _wait(served, 120, "citecast serve to register its deployments")
    return proc


def _stops_within(proc, sig, seconds: float) -> float:
    import os
    import subprocess

    t0 = time.monotonic()
    os.kill(proc.pid, sig)
    try:
        proc.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"citecast serve still running {seconds:.0f} s after signal {sig}")
    return time.monotonic() - t0


@e2e
def test_citecast_serve_runs_the_same_flow_and_stops_on_signals(api, server, site, worker, tmp_path):
    """The one-process alternative. Last of the server tests: serving re-registers the deployments
    under the same names, now served by this process instead of the work pool; at the end the
    server is stopped to check that serve still stops on SIGTERM without it."""
    import signal

    stop(worker)  # the pool's worker has nothing left to do; only the served process runs flows now
    # Serving over deployments that `prefect deploy` created leaves their storage settings half
    # replaced and the runs crash ("Downloading flow code from storage at None"): remove them first.
    for d in api.read_deployments():
        api.delete_deployment(d.id)
    proc = _serve(server, site, tmp_path / "serve.log")
    try:
        week = "2026-W51"
        run = _final(api, _trigger(api, {"week": week, "dry_run": True}).id, server)
        assert run.state.is_completed(), (tmp_path / "serve.log").read_text(errors="replace")[-3000:]
        took = _stops_within(proc, signal.SIGINT, 30)
    finally:
        stop(proc)
    done = [e for e in _ledger_events(site, week) if e.status == "dry_run"]
    sent = _sent(site, week)
    assert done and set(sent.values()) == {1} and len(sent) == len(done)
    print(f"citecast serve stopped {took:.1f} s after SIGINT")

    proc = _serve(server, site, tmp_path / "serve-again.log")
    try:
        stop(server.proc, grace=5)  # the Prefect server is gone; serve must still stop
        from citecast.flows.serve import STOP_GRACE_SECONDS

        took = _stops_within(proc, signal.SIGTERM, STOP_GRACE_SECONDS + 15)
    finally:
        stop(proc)
    print(f"citecast serve stopped {took:.1f} s after SIGTERM without a server")


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
    from citecast.flows.approval import approval_form, label

    settings = project.settings()
    ledger = Ledger(settings.ledger_url)
    try:
        plan = pipeline.plan_week(settings, ledger, pipeline.RunOptions(week="2026-W48", dry_run=True))
        drafted = pipeline.draft_all(plan, ledger=ledger)
        text, folder = pipeline.write_review(plan, drafted)
        keys = pipeline.review_keys(drafted)
        assert len(keys) == 15 and all(f"`{k}`" in text for k in keys)
        assert len(list(folder.glob("*/*.md"))) == 15 and (folder / "README.md").exists()

        labels = {k: label(f"Title of {k}", k.split(":")[1], k) for k in keys}
        form = approval_form(labels)
        answer = form(decision="approve some", approve=[labels[k] for k in keys[:3]], reason="off-brand")
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
    from citecast.flows.approval import approval_form, label

    keys = ["a:x", "a:reddit", "b:x"]
    labels = {k: label(f"Page {k[0].upper()}", k.split(":")[1], k) for k in keys}
    form = approval_form(labels)
    assert form().approved(keys) == set(keys)  # the form's default: approve all
    assert form(decision="reject all", reason="not this week").approved(keys) == set()
    assert form(decision="approve some", approve=[labels["b:x"]]).approved(keys) == {"b:x"}
    schema = form.model_json_schema()
    assert schema["properties"]["approve"]["items"]["enum"] == ["Page A — x [a:x]", "Page A — reddit [a:reddit]",
                                                                "Page B — x [b:x]"]
    assert schema["properties"]["decision"]["default"] == "approve all"


def test_run_form_values_are_checked_with_errors_that_name_the_fix():
    from citecast.distribution.form import check_channels, check_pages_shape, check_week, unknown_pages

    assert check_week("this week") is None and check_week("2026-W49") == "2026-W49"
    for bad, words in (("2026-49", "is not an ISO week: write an ISO week like 2026-W49"),
                       ("2026-W54", "does not exist"), ("w49", "like 2026-W49")):
        with pytest.raises(ValueError, match=words):
            check_week(bad)
    assert check_channels(["as configured"]) is None and check_channels(["x", "reddit"]) == ["x", "reddit"]
    with pytest.raises(ValueError, match="stands alone"):
        check_channels(["as configured", "x"])
    with pytest.raises(ValueError, match="valid: x, linkedin, reddit, bluesky, mastodon"):
        check_channels(["twitter"])
    assert check_pages_shape(["all due"]) is None and check_pages_shape(["a.md", "a", "b"]) == ["a", "b"]
    message = unknown_pages(["backlinks-vs-distributon", "zzz"], ["backlinks-vs-distribution", "llms-txt"])
    assert "did you mean backlinks-vs-distribution?" in message and "Valid: 'all due' or slugs" in message
    assert "llms-txt" in message and unknown_pages(["llms-txt"], ["llms-txt"]) is None


def test_flow_waits_for_review_without_a_deployment_lease():
    """prefect.yaml and `citecast serve` both leave concurrency_limit off (see flows/review.py)."""
    spec = yaml.safe_load((REPO / "prefect.yaml").read_text())
    assert all("concurrency_limit" not in d for d in spec["deployments"])


def test_one_prefect_version_story():
    """pyproject's range, prefect.yaml, the docs, CI and the installed Prefect agree."""
    import tomllib
    from importlib.metadata import version

    from packaging.specifiers import SpecifierSet

    deps = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    (spec,) = [d.split("#")[0].strip() for d in deps if re.match(r"prefect\b", d)]
    allowed = SpecifierSet(spec.removeprefix("prefect"))
    lowest = re.search(r">=([\d.]+)", spec).group(1)
    assert yaml.safe_load((REPO / "prefect.yaml").read_text())["prefect-version"] in allowed
    assert version("prefect") in allowed
    docs = (REPO / "docs" / "deployment.md").read_text()
    assert f"`{spec}`" in docs and f"again on {lowest}" in docs
    assert 'prefect==$lowest' in (REPO / ".ci" / "run").read_text()
