"""Issue 17's "done when": a week of posts to the platform fakes, an engagement read-back, a log import in the
three formats, a probe against a fake engine -- and the report shows each page's funnel with its delays, which copy
was cited, and the stalled stage. Real SDKs over HTTP, the real CLI commands' code paths, one ledger."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone
from urllib.parse import quote

from citecast.citations.logs import LogOptions
from tests.fakes.engagement import serve_engagement
from tests.fakes.engines import FakeEngineServer, Scripted
from tests.fakes.platforms import FakeLinkedIn, FakeReddit, FakeX, citecast_env

GPT = "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.3; +https://openai.com/gptbot)"
OAI = "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko); compatible; OAI-SearchBot/1.3; +https://openai.com/searchbot"
CGU = "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko); compatible; ChatGPT-User/1.0; +https://openai.com/bot"
CHR = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/141.0.0.0 Safari/537.36"


def _clf(ts: datetime) -> str:
    return ts.strftime("%d/%b/%Y:%H:%M:%S +0000")


def _logs(folder, t0: datetime) -> list:
    d = lambda days: t0 + timedelta(days=days)  # noqa: E731
    combined = folder / "access.log"
    combined.write_text("\n".join([
        f'51.8.102.7 - - [{_clf(d(1.5))}] "GET /tracking-ai-citations HTTP/1.1" 200 900 "-" "{OAI}"',
        f'20.171.206.1 - - [{_clf(d(2))}] "GET /distribution-first-ai-visibility/ HTTP/1.1" 200 900 "-" "{GPT}"',
        f'81.2.69.142 - - [{_clf(d(3))}] "GET /tracking-ai-citations HTTP/2.0" 200 900 "https://chatgpt.com/" "{CHR}"',
    ]) + "\n")
    caddy = folder / "caddy.jsonl"
    caddy.write_text(json.dumps({
        "level": "info", "ts": d(2).timestamp(), "logger": "http.log.access.log0", "msg": "handled request",
        "request": {"remote_ip": "23.98.142.180", "client_ip": "23.98.142.180", "proto": "HTTP/2.0", "method": "GET",
                    "host": "citecast.dev", "uri": "/tracking-ai-citations", "headers": {"User-Agent": [CGU]}},
        "status": 200, "size": 900}) + "\n")
    cloudfront = folder / "cloudfront.log"
    fields = ("date time x-edge-location sc-bytes c-ip cs-method cs(Host) cs-uri-stem sc-status cs(Referer) "
              "cs(User-Agent) cs-uri-query cs(Cookie) x-edge-result-type x-edge-request-id x-host-header")
    row = [d(4).strftime("%Y-%m-%d"), d(4).strftime("%H:%M:%S"), "LHR61-P1", "19231", "51.8.102.9", "GET",
           "d111111abcdef8.cloudfront.net", "/backlinks-and-referring-domains", "200", "-", quote(OAI, safe="/();,:+="),
           "-", "-", "Miss", "k6WGMNkEzR5BEM_SaF47gjtX9zBDO2m349OY2an0QPEaUum1ZOLrow==", "citecast.dev"]
    cloudfront.write_text(f"#Version: 1.0\n#Fields: {fields}\n" + "\t".join(row) + "\n")
    return [combined, caddy, cloudfront]


def test_posts_engagement_logs_probe_report(project, monkeypatch):
    from citecast.citations.model import load_pages, open_ledger
    from citecast.citations.probe import run_probe
    from citecast.citations.report import run_report
    from citecast.cli.logs import _importer
    from citecast.distribution.engagement import read_back
    from citecast.distribution.run import run_week
    from citecast.ledger.tables import EventRow

    fakes = {"x": FakeX().start(), "linkedin": FakeLinkedIn().start(), "reddit": FakeReddit().start()}
    engine = FakeEngineServer({})
    engine.__enter__()
    try:
        for fake in fakes.values():
            serve_engagement(fake)
        for var, value in citecast_env(fakes, timeout=3.0).items():
            monkeypatch.setenv(var, value)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
        project.config.write_text(project.config.read_text() + f"""
[citations]
samples = 1
timeout_seconds = 5
max_retries = 0
[citations.engines.fake]
kind = "openai_search"
model = "gpt-test"
base_url = "{engine.base_url}"
""")
        settings = project.settings()
        t0 = datetime.now(timezone.utc)
        week = run_week(settings, now=t0)
        assert week.count("published") == 15, [(o.page, o.channel, o.status) for o in week.outcomes]
        ledger = open_ledger(settings)
        with ledger.session() as s:
            posts = {(e.page, e.channel): e for e in s.query(EventRow).filter(EventRow.status == "published")}
        # the platforms' counts, a week on
        fakes["x"].counts[posts[("tracking-ai-citations", "x")].platform_id] = {"like_count": 9, "retweet_count": 2}
        for page in ("canonical-urls-for-citations", "distribution-first-ai-visibility", "backlinks-and-referring-domains"):
            fakes["reddit"].counts[posts[(page, "reddit")].platform_id] = {"score": 5, "upvote_ratio": 1.0, "num_comments": 1}
        engaged = read_back(settings, ledger, now=t0 + timedelta(days=7, hours=1))
        assert engaged.taken["x"] >= 5 and engaged.taken["reddit"] >= 5 and not engaged.failed
        assert any("r_member_social" in n for n in engaged.notes)
        importer = _importer(settings, [])
        for log in _logs(project.root, t0):
            importer.import_file(log, LogOptions())
        importer.ledger.close()
        reddit_copy = posts[("tracking-ai-citations", "reddit")].platform_url.replace("www.reddit.com", "old.reddit.com")
        engine.answers.update({
            "how to track if ChatGPT cites my website": Scripted("See the thread.", [(reddit_copy, "r/test")]),
            "do backlinks help with AI citations": Scripted("Per citecast.", [
                ("https://citecast.dev/backlinks-and-referring-domains", "Backlinks")]),
        })
        time.sleep(0.01)
        probe = run_probe(settings, engine_names=["fake"], ledger=ledger)
        assert not probe.failures
        written = run_report(settings, out=project.root / "reports", ledger=ledger)
        pages = [p.slug for p in load_pages(settings, ledger)]
        ledger.close()
    finally:
        engine.__exit__(None)
        for fake in fakes.values():
            fake.stop()
    rows = {r["page"]: r for r in written.report.tables["funnel"].as_dicts()}
    assert set(rows) == set(pages)
    tracking = rows["tracking-ai-citations"]
    assert (tracking["days_to_search_fetch"], tracking["days_to_user_fetch"]) == (1.5, 2.0)
    assert tracking["interactions"] == 11 and tracking["ai_clicks"] == 1
    assert tracking["first_citation"] == "fake via reddit" and tracking["days_to_citation"] == 0.0
    assert tracking["stalled_at"] == "through every measured stage"
    assert rows["generative-engine-optimisation"]["stalled_at"] == "posted, no engagement"
    assert rows["canonical-urls-for-citations"]["stalled_at"] == "engaged, never fetched by an AI crawler"
    assert rows["distribution-first-ai-visibility"]["days_to_training_fetch"] == 2.0
    assert rows["distribution-first-ai-visibility"]["stalled_at"] == "fetched, not cited"
    assert rows["backlinks-and-referring-domains"]["stalled_at"] == "cited, no clicks from AI answers"
    copies = {r["page"]: r for r in written.report.tables["copies_cited"].as_dicts()}
    assert copies["tracking-ai-citations"]["reddit"] == 1 and copies["tracking-ai-citations"]["canonical"] == 0
    assert copies["backlinks-and-referring-domains"]["canonical"] == 1
    html = written.html.read_text()
    assert "Which copy gets cited" in html and "Funnel: each page" in html
