"""Secrets set in the environment never show up in what citecast writes or says.

A whole weekly run with the LLM drafter and the five live adapters against the
real fakes, once with credentials the platforms and the LLM server refuse (401
everywhere) and once with accepted credentials while the LLM server fails
(500s): the logs (every logger, DEBUG), stdout/stderr, the run's markdown
summary and dict, every outcome's message, every table of the ledger (and the
SQLite files as bytes), the outbox and `citecast ledger --json` hold none of
the tokens.
"""

from __future__ import annotations

import json
import logging
import re
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.fakes.openai_chat import FakeChatServer
from tests.fakes.trials import SHORT_TEMPLATE
from tests.fakes.platforms import FakeBluesky, FakeLinkedIn, FakeMastodon, FakeReddit, FakeX, citecast_env

CHANNELS = ["x", "linkedin", "reddit", "bluesky", "mastodon"]
# Distinctive values, so a hit can only be a leak.
SECRETS = {
    "X_API_KEY": "xkey-S3CRET-1a2b3c",
    "X_API_SECRET": "xsecret-S3CRET-4d5e6f",
    "X_ACCESS_TOKEN": "xtoken-S3CRET-7a8b9c",
    "X_ACCESS_TOKEN_SECRET": "xtokensecret-S3CRET-0d1e2f",
    "REDDIT_CLIENT_ID": "rid-S3CRET-3a4b",
    "REDDIT_CLIENT_SECRET": "rsecret-S3CRET-5c6d",
    "REDDIT_PASSWORD": "rpass-S3CRET-7e8f",
    "LINKEDIN_ACCESS_TOKEN": "litoken-S3CRET-9a0b",
    "BLUESKY_APP_PASSWORD": "bsky-S3CRET-1c2d",
    "MASTODON_ACCESS_TOKEN": "masto-S3CRET-3e4f",
    "OPENAI_API_KEY": "sk-S3CRET-openai-5a6b7c8d",
    "PERPLEXITY_API_KEY": "pplx-S3CRET-9e0f",
}
NOT_SECRET = {"REDDIT_USERNAME": "citebot", "BLUESKY_HANDLE": "citecast.bsky.social"}


def _fakes(accept: bool) -> dict:
    s = SECRETS if accept else {k: "something-else" for k in SECRETS}
    return {
        "x": FakeX(consumer_key=s["X_API_KEY"], consumer_secret=s["X_API_SECRET"],
                   token_secret=s["X_ACCESS_TOKEN_SECRET"]),
        "reddit": FakeReddit(client_id=s["REDDIT_CLIENT_ID"], client_secret=s["REDDIT_CLIENT_SECRET"],
                             password=s["REDDIT_PASSWORD"]),
        "linkedin": FakeLinkedIn(token=s["LINKEDIN_ACCESS_TOKEN"]),
        "bluesky": FakeBluesky(password=s["BLUESKY_APP_PASSWORD"]),
        "mastodon": FakeMastodon(token=s["MASTODON_ACCESS_TOKEN"]),
    }


@pytest.fixture(params=["refused", "accepted"])
def world(request, project, monkeypatch):
    accept = request.param == "accepted"
    fakes = {n: f.start() for n, f in _fakes(accept).items()}
    llm = FakeChatServer(default="unauthorized" if not accept else "good").start()
    if accept:
        llm.script("server_error", "server_error", "server_error", "broken_json", "server_error")
    for k, v in {**SECRETS, **NOT_SECRET}.items():
        monkeypatch.setenv(k, v)
    env = {
        **citecast_env(fakes, timeout=2, credentials=False),  # the credentials are SECRETS, set above
        "CITECAST_LLM__MODEL": "test-model", "CITECAST_LLM__BASE_URL": llm.base_url, "CITECAST_LLM__MAX_RETRIES": "0",
        "CITECAST_LLM__TIMEOUT_SECONDS": "5",
    }
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    # Every page to all five channels; Bluesky and Mastodon get the short template the exactly-once test uses.
    for name in ("bluesky", "mastodon"):
        (project.templates / f"{name}.md.j2").write_text(SHORT_TEMPLATE, encoding="utf-8")
    for page in project.content.glob("*.md"):
        text = page.read_text(encoding="utf-8")
        text = re.sub(r'^channels(\s*[:=]\s*)\[.*\]$', lambda m: 'channels' + m.group(1) + json.dumps(CHANNELS),
                      text, count=1, flags=re.M)
        page.write_text(text, encoding="utf-8")
    yield request.param, fakes, llm
    llm.stop()
    for f in fakes.values():
        f.stop()


def _leaks(where: str, text: str) -> list[str]:
    return [f"{name} in {where}" for name, value in SECRETS.items() if value in text]


def _ledger_dump(url: str) -> tuple[str, bytes]:
    from sqlalchemy.engine import make_url

    path = Path(make_url(url).database)
    con = sqlite3.connect(path)
    try:
        tables = [r[0] for r in con.execute("select name from sqlite_master where type = 'table'")]
        rows = [f"{t}: {row!r}" for t in tables for row in con.execute(f'select * from "{t}"')]
    finally:
        con.close()
    raw = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))  # the db, its WAL and SHM
    return "\n".join(rows), raw


def test_no_secret_in_logs_summaries_ledger_outbox_or_errors(world, project, caplog, capsys):
    from citecast.cli import app
    from citecast.distribution.run import run_week
    from citecast.distribution.summary import markdown_summary, summary_dict

    kind, fakes, llm = world
    caplog.set_level(logging.DEBUG)
    for name in ("", "citecast", "openai", "httpx", "httpx2", "urllib3", "tweepy", "prawcore", "praw", "atproto"):
        logging.getLogger(name).setLevel(logging.DEBUG)

    settings = project.settings()
    report = run_week(settings)
    again = run_week(project.settings())  # a second run: reconcile and lookups, with their own errors

    found: list[str] = []
    statuses = {o.status for o in report.outcomes}
    if kind == "refused":
        assert statuses == {"failed"}, statuses  # every post refused, with a reason
        assert any("credentials" in o.detail or "auth" in o.detail.lower() for o in report.outcomes), \
            [o.detail for o in report.outcomes]
        assert llm.calls and not llm.served  # every LLM call refused with 401
    else:
        assert "published" in statuses, [(o.channel, o.status, o.detail) for o in report.outcomes]
        assert not llm.queue and len(llm.calls) >= 5  # the scripted 500s and broken JSON were served
    for rep in (report, again):
        found += _leaks("markdown summary", markdown_summary(rep))
        found += _leaks("summary dict", json.dumps(summary_dict(rep), default=str))
        for o in rep.outcomes:
            found += _leaks(f"outcome {o.page}/{o.channel}", f"{o.detail} {o.text} {o.platform_url}")
        for p in rep.problems:
            found += _leaks("problems", str(p))
    # Everything logged at INFO and above, and citecast's own DEBUG. (oauthlib's and requests_oauthlib's
    # DEBUG records would print X's consumer key and access token: the X adapter keeps them at INFO.)
    ours = ("citecast", "channels", "flows")
    records = [r for r in caplog.records if r.levelno >= logging.INFO or r.name.split(".")[0] in ours]
    found += _leaks("logs", "\n".join(f"{r.name} {r.levelname} {r.getMessage()} {r.exc_text or ''}" for r in records))
    third_party_debug = [r for r in caplog.records if r.levelno < logging.INFO and r.name.split(".")[0] not in ours]
    leaked_debug = _leaks("debug", "\n".join(r.getMessage() for r in third_party_debug))
    assert leaked_debug == [], leaked_debug
    out = capsys.readouterr()
    found += _leaks("stdout/stderr", out.out + out.err)
    rows, raw = _ledger_dump(settings.ledger_url)
    assert "events" in rows
    found += _leaks("ledger tables", rows)
    found += [f"{n} in the ledger's SQLite files" for n, v in SECRETS.items() if v.encode() in raw]
    for path in project.outbox.rglob("*") if project.outbox.exists() else []:
        if path.is_file():
            found += _leaks(f"outbox {path.name}", path.read_text(encoding="utf-8", errors="replace"))
    result = CliRunner().invoke(app, ["ledger", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)  # the events are there
    found += _leaks("citecast ledger --json", result.output)
    pending = CliRunner().invoke(app, ["ledger", "pending", "--json"])
    found += _leaks("citecast ledger pending --json", pending.output)
    assert found == [], found
    # The secrets really were in play: the platforms received them (proof the test is not vacuous).
    seen = b"".join(r.body + json.dumps(r.headers).encode() for f in fakes.values() for r in f.requests)
    assert SECRETS["LINKEDIN_ACCESS_TOKEN"].encode() in seen and SECRETS["MASTODON_ACCESS_TOKEN"].encode() in seen
    assert SECRETS["REDDIT_PASSWORD"].encode() in seen and SECRETS["BLUESKY_APP_PASSWORD"].encode() in seen
    assert any(r.header("authorization") == f"Bearer {SECRETS['OPENAI_API_KEY']}" for r in llm.requests)


def test_no_secret_in_the_channels_command_or_check(world, project):
    from citecast.cli import app

    for args in (["channels"], ["check"]):
        result = CliRunner().invoke(app, args)
        assert result.output.strip(), args
        assert _leaks(" ".join(args), result.output) == []
