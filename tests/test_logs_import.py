"""`citecast import logs`: real log formats in, AI fetches and AI referral visits on our pages out, nothing twice."""

from __future__ import annotations

import gzip
import json
import shutil
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from citecast.citations.agents import (
    AgentList,
    AgentListError,
    Verifier,
    classify,
    load_agents,
    parse_agents,
    range_spec,
    read_ranges,
    refresh_agents,
)
from citecast.citations.logs import LogImportFailed, LogOptions, any_time, clf_time
from citecast.cli.app import app
from tests.fakes.http import FakeServer, Reply

LOGS = Path(__file__).parent / "fixtures" / "logs"
RANGES = ["--ip-ranges", str(LOGS / "gptbot.json"), "--ip-ranges", str(LOGS / "perplexitybot.json")]
runner = CliRunner()


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def cli(*args: str):
    return runner.invoke(app, list(args))


def hits(project) -> list:
    from citecast.citations.model import open_ledger
    from citecast.ledger.log_tables import LogHitRow

    ledger = open_ledger(project.settings())
    try:
        with ledger.session() as s:
            return list(s.scalars(select(LogHitRow).order_by(LogHitRow.at, LogHitRow.id)))
    finally:
        ledger.close()


def imports(project) -> list:
    from citecast.citations.model import open_ledger
    from citecast.ledger.log_tables import LogImportRow

    ledger = open_ledger(project.settings())
    try:
        with ledger.session() as s:
            return list(s.scalars(select(LogImportRow).order_by(LogImportRow.id)))
    finally:
        ledger.close()


def at(h) -> datetime:
    return h.at if h.at.tzinfo else h.at.replace(tzinfo=timezone.utc)  # SQLite hands back naive UTC


def key(h) -> tuple:
    return (h.kind, h.agent, h.agent_class, h.verified, h.page, h.status)


def test_combined_log_fetches_referrals_and_verification(project):
    out = cli("import", "logs", str(LOGS / "combined.log"), *RANGES)
    assert out.exit_code == 0, out.output
    rows = hits(project)
    assert [key(h) for h in rows] == [
        ("fetch", "GPTBot", "training", "verified", "tracking-ai-citations", 200),
        ("fetch", "GPTBot", "training", "verified", "tracking-ai-citations", 200),  # the same line twice: two requests
        ("fetch", "GPTBot", "training", "unverified", "tracking-ai-citations", 200),  # spoofed: IP not OpenAI's
        ("fetch", "OAI-SearchBot", "search", "unknown", "canonical-urls-for-citations", 200),  # no ranges given
        ("fetch", "ChatGPT-User", "user", "unknown", "distribution-first-ai-visibility", 200),
        ("fetch", "PerplexityBot", "search", "verified", "generative-engine-optimisation", 200),
        ("fetch", "Perplexity-User", "user", "unknown", "generative-engine-optimisation", 200),
        ("fetch", "ClaudeBot", "training", "unknown", "backlinks-and-referring-domains", 403),
        ("referral", "chatgpt", "", "unknown", "tracking-ai-citations", 200),
        ("referral", "chatgpt", "", "unknown", "canonical-urls-for-citations", 200),
        ("referral", "perplexity", "", "unknown", "generative-engine-optimisation", 200),
    ]
    assert at(rows[0]) == utc(2026, 11, 2, 3, 12, 45)
    assert at(rows[3]) == utc(2026, 11, 3, 9, 20, 30)  # +0100 in the log
    assert [h.occurrence for h in rows[:2]] == [0, 1]
    assert [h.via for h in rows if h.kind == "referral"] == ["referer", "utm", "referer"]
    assert rows[4].normalized_url == "https://citecast.dev/distribution-first-ai-visibility"  # utm_source dropped
    (imp,) = imports(project)
    assert (imp.lines, imp.requests, imp.bad_lines, imp.fetches, imp.referrals, imp.page_hits, imp.added) == (
        21, 20, 1, 10, 4, 11, 11)
    # robots.txt and /about/ are no pages of ours: counted in the import, not stored
    assert ["ClaudeBot", "training", "unknown", 2] in imp.counts["agents"]
    assert imp.counts["referrals"] == {"chatgpt": 3, "perplexity": 1}
    assert "line 20" in imp.counts["bad_examples"][0]
    assert "GPTBot (training, unverified): 1" in out.output


def test_json_and_w3c_formats(project):
    out = cli("import", "logs", str(LOGS / "caddy.jsonl"), str(LOGS / "cloudflare.jsonl"), str(LOGS / "cloudfront.log"),
              *RANGES)
    assert out.exit_code == 0, out.output
    assert "caddy.jsonl (json/caddy)" in out.output and "cloudflare.jsonl (json/cloudflare)" in out.output
    assert "cloudfront.log (w3c)" in out.output
    got = {(h.kind, h.agent, h.verified, h.page, at(h), h.via) for h in hits(project)}
    assert got == {
        # Caddy: ts in Unix seconds; request.client_ip; headers as lists
        ("fetch", "GPTBot", "verified", "canonical-urls-for-citations", utc(2026, 11, 6, 4, 21, 40, 500000), ""),
        ("fetch", "Claude-User", "unknown", "tracking-ai-citations", utc(2026, 11, 6, 4, 23, 20, 250000), ""),
        ("referral", "claude", "unknown", "distribution-first-ai-visibility", utc(2026, 11, 6, 4, 25, 0, 750000),
         "referer"),
        # Cloudflare: EdgeStartTimestamp in Unix nanoseconds
        ("fetch", "ClaudeBot", "unknown", "generative-engine-optimisation", utc(2026, 11, 7, 9, 1, 40, 456000), ""),
        ("fetch", "Perplexity-User", "unknown", "tracking-ai-citations", utc(2026, 11, 7, 9, 3, 20, 789000), ""),
        ("referral", "gemini", "unknown", "backlinks-and-referring-domains", utc(2026, 11, 7, 9, 5), "referer"),
        # CloudFront: tab-separated, URL-encoded user agents, the query in its own field
        ("fetch", "OAI-SearchBot", "unknown", "generative-engine-optimisation", utc(2026, 11, 8, 14, 2, 31), ""),
        ("fetch", "ChatGPT-User", "unknown", "canonical-urls-for-citations", utc(2026, 11, 8, 15, 10), ""),
        ("referral", "copilot", "unknown", "tracking-ai-citations", utc(2026, 11, 8, 16, 0), "referer"),
        ("referral", "chatgpt", "unknown", "distribution-first-ai-visibility", utc(2026, 11, 8, 16, 5), "utm"),
    }
    caddy = imports(project)[0]
    assert (caddy.lines, caddy.requests) == (6, 5)  # the tls.obtain line is Caddy's runtime log, not a request


def test_importing_again_counts_nothing_twice(project, tmp_path):
    plain = tmp_path / "access.log"
    shutil.copy(LOGS / "combined.log", plain)
    assert cli("import", "logs", str(plain)).exit_code == 0
    first = len(hits(project))
    assert first == 11
    again = cli("import", "logs", str(plain))
    assert "0 added, 11 already imported" in again.output
    # logrotate: the same lines, compressed, under another name; plus a file that kept growing
    rotated = tmp_path / "access.log.1.gz"
    with gzip.open(rotated, "wb") as f:
        f.write(plain.read_bytes())
    more = ('20.171.206.14 - - [09/Nov/2026:03:12:45 +0000] "GET /tracking-ai-citations HTTP/1.1" 200 18231 "-" '
            '"Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.3; +https://openai.com/gptbot)"\n')
    with plain.open("a") as f:
        f.write(more)
    out = cli("import", "logs", str(rotated), str(plain))
    assert out.exit_code == 0, out.output
    assert "0 added, 11 already imported" in out.output and "1 added, 11 already imported" in out.output
    assert len(hits(project)) == first + 1


def test_previous_urls_match_the_page(project):
    page = project.content / "tracking-ai-citations.md"
    text = page.read_text()
    page.write_text(text.replace("---\n", "---\nprevious_urls: [https://citecast.dev/old-tracking-ai-citations]\n", 1))
    assert cli("import", "logs", str(LOGS / "combined.log")).exit_code == 0
    old = [h for h in hits(project) if h.normalized_url.endswith("/old-tracking-ai-citations")]
    assert [(h.page, h.agent, h.status) for h in old] == [("tracking-ai-citations", "GPTBot", 301)]


def test_wrong_format_stops_with_the_fix_and_imports_nothing(project, tmp_path):
    out = cli("import", "logs", "--format", "combined", str(LOGS / "caddy.jsonl"))
    assert out.exit_code == 1
    assert "caddy.jsonl" in out.output and "--format combined|json|w3c" in out.output
    assert imports(project) == [] and hits(project) == []
    unmapped = tmp_path / "app.jsonl"
    unmapped.write_text('{"when": "2026-11-02T03:12:45Z", "path": "/tracking-ai-citations", "agent": "GPTBot/1.3"}\n')
    out = cli("import", "logs", str(unmapped))
    assert out.exit_code == 1 and "--preset caddy|cloudflare" in out.output and "uri" in out.output
    out = cli("import", "logs", str(unmapped), "--map", "time=when", "--map", "uri=path", "--map", "user_agent=agent")
    assert out.exit_code == 0, out.output
    assert [(h.agent, h.page) for h in hits(project)] == [("GPTBot", "tracking-ai-citations")]


def test_one_bad_file_stops_no_other(project, tmp_path):
    broken = tmp_path / "access.log.2.gz"
    broken.write_bytes(gzip.compress((LOGS / "combined.log").read_bytes())[:-40])  # cut off mid-stream
    out = cli("import", "logs", str(broken), str(LOGS / "cloudflare.jsonl"))
    assert out.exit_code == 1
    assert "access.log.2.gz" in out.output and "nothing was imported" in out.output
    assert [i.file_name for i in imports(project)] == ["cloudflare.jsonl"]
    assert {h.page for h in hits(project)} == {"generative-engine-optimisation", "tracking-ai-citations",
                                               "backlinks-and-referring-domains"}


def test_ip_ranges_files(tmp_path):
    assert range_spec(str(LOGS / "gptbot.json")) == ("GPTBot", LOGS / "gptbot.json")
    assert range_spec("ChatGPT-User=ranges/users.json") == ("ChatGPT-User", Path("ranges/users.json"))
    with pytest.raises(AgentListError, match="AGENT=FILE"):
        range_spec("ranges.json")
    nets = read_ranges(LOGS / "perplexitybot.json")
    assert [str(n) for n in nets] == ["107.20.236.150/32", "18.97.1.228/30", "18.97.9.96/29"]
    cidrs = tmp_path / "claude.txt"
    cidrs.write_text("# published by hand\n160.79.104.0/23\n2600:1f1c::/32\n")
    verifier = Verifier.from_specs({"Claude-User": cidrs, "PerplexityBot": LOGS / "perplexitybot.json"})
    assert verifier.status("Claude-User", "160.79.105.7") == "verified"
    assert verifier.status("Claude-User", "2600:1f1c::1") == "verified"
    assert verifier.status("Claude-User", "8.8.8.8") == "unverified"
    assert verifier.status("PerplexityBot", "18.97.1.232") == "unverified"
    assert verifier.status("ClaudeBot", "8.8.8.8") == "unknown"
    bad = tmp_path / "gptbot.json"
    bad.write_text('{"prefixes": []}')
    with pytest.raises(AgentListError, match="no IP ranges"):
        read_ranges(bad)
    with pytest.raises(AgentListError, match="unknown agent"):
        Verifier.from_specs({"GPT-Bot": LOGS / "gptbot.json"}, known=["GPTBot"])


def test_classes_from_both_styles_of_entry():
    assert classify({"function": "Scrapes data to train OpenAI's products."}) == "training"
    assert classify({"function": "Search result generation."}) == "search"
    assert classify({"function": "AI Search Crawlers"}) == "search"
    assert classify({"function": "AI Assistants", "frequency": "Only when prompted by a user."}) == "user"
    assert classify({"function": "Retrieves data to provide responses to user-initiated prompts."}) == "user"
    assert classify({"function": "AI Data Scrapers"}) == "training"
    assert classify({"function": "Provides open crawl dataset, used for many purposes, including Machine Learning/AI."}) == "training"
    assert classify({"function": "Service improvement and enabling answers for Alexa users."}) == "other"


def test_matching_names_as_published():
    entries = {"GPTBot": {"function": "LLM training."}, "Code": {"function": "AI Coding Agents", "has_name_and_version": True},
               "Claude-SearchBot": {"function": "AI Search Crawlers"}, "ClaudeBot": {"function": "LLM training."}}
    agents = AgentList(entries, overrides={"ClaudeBot": "other"})
    assert agents.find("Mozilla/5.0 (compatible; GPTBot/1.3; +https://openai.com/gptbot)").name == "GPTBot"
    assert agents.find("Mozilla/5.0 (compatible; Claude-SearchBot/1.0)").name == "Claude-SearchBot"
    assert agents.find("Mozilla/5.0 (compatible; ClaudeBot/1.0)").klass == "other"
    assert agents.find("Mozilla/5.0 (Macintosh) Code/1.95.0 Chrome/128") .name == "Code"
    assert agents.find("Mozilla/5.0 source Code editor") is None  # a generic word counts only as name/version
    assert agents.find("Mozilla/5.0 (compatible; gptbot/1.3)") is None  # names are matched as published
    with pytest.raises(AgentListError, match="classes are"):
        AgentList(entries, overrides={"GPTBot": "crawler"})


def _robots(n: int = 24) -> dict:
    seed = json.loads((Path(__file__).parent.parent / "citecast" / "citations" / "data" / "ai_agents.json").read_text())
    seed.pop("Amazonbot")
    seed["NewAgentBot"] = {"operator": "Example", "respect": "Yes", "function": "AI Search Crawlers",
                           "frequency": "Unclear at this time.", "description": "A new agent."}
    seed["Bytespider"]["function"] = "AI Search Crawlers"
    return dict(list(seed.items())[:n])


class RobotsServer(FakeServer):
    def __init__(self):
        super().__init__()
        self.answer = Reply(200, _robots())
        self.route("GET", r"/robots.json", lambda req, m: self.answer)


def test_refresh_agents_replaces_the_list_and_keeps_it_on_failure(project):
    with RobotsServer() as server:
        out = cli("logs", "refresh-agents", "--url", f"{server.url}/robots.json", "--timeout", "2")
        assert out.exit_code == 0, out.output
        assert "added: NewAgentBot" in out.output and "removed: Amazonbot" in out.output
        assert "class changed: Bytespider" in out.output
        stored = project.root / ".citecast" / "robots.json"
        agents = load_agents(stored.parent)
        assert "NewAgentBot" in agents.agents and agents.agents["Bytespider"].klass == "search"
        before = stored.read_bytes()
        for answer, expected in ((Reply(200, "<html>rate limited</html>"), "not JSON"),
                                 (Reply(503, {"error": "unavailable"}), "HTTP 503"),
                                 (Reply(200, {"GPTBot": {"function": "x"}}), "only 1 agent;")):
            server.answer = answer
            out = cli("logs", "refresh-agents", "--url", f"{server.url}/robots.json", "--timeout", "2")
            assert out.exit_code == 1 and expected in out.output
            assert stored.read_bytes() == before
    with pytest.raises(AgentListError, match="download failed"):
        refresh_agents(stored.parent, f"{server.url}/robots.json", timeout=1)  # the server is gone


def test_the_seed_is_a_valid_list():
    seed = (Path(__file__).parent.parent / "citecast" / "citations" / "data" / "ai_agents.json").read_text()
    agents = load_agents(None)
    assert len(parse_agents(seed, "seed")) == len(agents) >= 20
    assert {n: a.klass for n, a in agents.agents.items() if n in ("GPTBot", "OAI-SearchBot", "ChatGPT-User")} == {
        "GPTBot": "training", "OAI-SearchBot": "search", "ChatGPT-User": "user"}


def test_times():
    assert clf_time("10/Oct/2000:13:55:36 -0700") == utc(2000, 10, 10, 20, 55, 36)
    assert any_time(1646861401.5241024) == datetime.fromtimestamp(1646861401.5241024, timezone.utc)
    assert any_time(1506702504433000200) == utc(2017, 9, 29, 16, 28, 24, 433000)
    assert any_time(1506702504) == utc(2017, 9, 29, 16, 28, 24)
    assert any_time("2026-11-02T03:12:45Z") == utc(2026, 11, 2, 3, 12, 45)
    assert any_time("2026/11/02 03:12:45.000") == utc(2026, 11, 2, 3, 12, 45)
    with pytest.raises(ValueError):
        any_time("yesterday")


def test_options_are_checked(project):
    out = cli("import", "logs", "--format", "clf", str(LOGS / "combined.log"))
    assert out.exit_code == 1 and "unknown format 'clf'" in out.output
    out = cli("import", "logs", "--preset", "nginx", str(LOGS / "caddy.jsonl"))
    assert out.exit_code == 1 and "unknown JSON preset 'nginx'" in out.output
    out = cli("import", "logs", str(LOGS / "combined.log"), "--ip-ranges", "ranges.json")
    assert out.exit_code == 2 and "AGENT=FILE" in out.output
    project.config.write_text(project.config.read_text() + '\n[logs]\nagent_class = {Amazonbot = "search"}\n')
    out = cli("import", "logs", str(LOGS / "combined.log"))
    assert out.exit_code == 2 and "agent_class" in out.output
