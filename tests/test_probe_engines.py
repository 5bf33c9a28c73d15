"""A probe of four engines (OpenAI, Perplexity, Gemini, Anthropic), each through its real SDK against its
fake, as configured in citecast.toml: what each answer cited, retrieved and searched lands in the ledger."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from citecast.citations.model import answer_excerpt
from citecast.citations.probe import run_probe
from citecast.ledger.citation_tables import ObservationRow
from citecast.ledger.store import Ledger
from citecast.settings import load_settings
from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.engines import FakeEngineServer, Scripted
from tests.fakes.gemini import FakeGemini

Q = "what is generative engine optimisation"
GEO = "https://citecast.dev/geo"
ANSWER = Scripted(
    text="Generative engine optimisation (GEO) is the practice of making pages that answer engines cite, "
         "per citecast and others; it differs from SEO in what it measures.",
    citations=[(GEO, "GEO"), ("https://rival.example.com/geo", "Rival")],
    sources=["https://wiki.example.org/GEO", "https://citecast.dev/seo-basics"],  # our other page: read, not cited
    queries=["generative engine optimisation definition", "GEO vs SEO"],
)
PAGE = f"""---
title: GEO
topic: geo
canonical_url: {GEO}
queries:
  - {Q}
---

GEO is the practice of making pages answer engines cite. It is measured by citations.

## FAQ
### What is GEO?
Making pages that answer engines cite.
"""


SEO_PAGE = PAGE.replace("title: GEO", "title: SEO basics").replace(f"canonical_url: {GEO}",
                                                                     "canonical_url: https://citecast.dev/seo-basics")
SEO_PAGE = SEO_PAGE.replace(f"  - {Q}", "  - what are seo basics")


@pytest.fixture
def project(tmp_path, monkeypatch):
    with FakeEngineServer({Q: ANSWER}) as oai, FakeGemini({Q: ANSWER}) as gem, FakeAnthropic({Q: ANSWER}) as ant:
        (tmp_path / "content").mkdir()
        (tmp_path / "content" / "geo.md").write_text(PAGE)
        (tmp_path / "content" / "seo-basics.md").write_text(SEO_PAGE)
        (tmp_path / "citecast.toml").write_text(f"""
[site]
base_url = "https://citecast.dev"
brand_names = ["citecast"]
[citations]
samples = 1
timeout_seconds = 2
max_retries = 0
keep_answer = "excerpt"
answer_excerpt_chars = 60
redirect_prefixes = ["{gem.redirect_prefix}"]
[citations.engines.openai]
kind = "openai_search"
model = "gpt-test"
base_url = "{oai.base_url}"
[citations.engines.perplexity]
kind = "perplexity"
model = "sonar"
base_url = "{oai.base_url}"
[citations.engines.gemini]
kind = "gemini"
model = "gemini-test"
base_url = "{gem.url}"
input_per_mtok = 0.30
output_per_mtok = 2.50
per_search = 0.014
[citations.engines.anthropic]
kind = "anthropic"
model = "claude-test"
base_url = "{ant.url}"
""")
        monkeypatch.setenv("CITECAST_CONFIG", str(tmp_path / "citecast.toml"))
        for var, key in (("OPENAI_API_KEY", "sk-test"), ("PERPLEXITY_API_KEY", "pplx-test"),
                         ("GEMINI_API_KEY", "gm-key"), ("ANTHROPIC_API_KEY", "sk-ant-test")):
            monkeypatch.setenv(var, key)
        yield tmp_path


def test_four_engines_record_citations_sources_queries_excerpts_and_cost(project):
    settings = load_settings()
    result = run_probe(settings, query=Q)
    assert result.ok and len(result.recorded) == 4, result.summary()
    assert result.cited_pages == {"geo": 4}
    # Searches: openai 1 call, perplexity 2 (num_search_queries), gemini 2 queries, anthropic 2 requests.
    assert result.searches == 7
    # Priced: perplexity as stated (0.00503) + gemini 112*0.30e-6 + 40*2.50e-6 + 2*0.014 = 0.0281336.
    assert result.cost_usd == pytest.approx(0.00503 + 0.0281336) and result.unpriced == 2
    ledger = Ledger(settings.ledger_url)
    try:
        with ledger.session() as s:
            rows = {r.engine: r for r in s.scalars(select(ObservationRow))}
            assert set(rows) == {"openai", "perplexity", "gemini", "anthropic"}
            for engine, row in rows.items():
                cited = [c.normalized_url for c in row.cited if c.kind == "citation"]
                assert cited == [GEO, "https://rival.example.com/geo"], engine
                retrieved = {c.normalized_url for c in row.cited if c.kind == "source"}
                assert "https://wiki.example.org/GEO" in retrieved, engine  # retrieved, never cited
                assert row.answer_text.startswith("Generative engine optimisation") and len(row.answer_text) <= 62
                assert row.page == "geo" and row.topic == "geo"
            assert [q.query for q in rows["gemini"].search_queries] == ANSWER.queries
            assert [q.query for q in rows["anthropic"].search_queries] == ANSWER.queries
            assert [q.query for q in rows["openai"].search_queries] == ANSWER.queries
            assert rows["perplexity"].search_queries == []  # Sonar chat does not say what it searched
            assert rows["gemini"].search_queries[1].query_key == "geo vs seo"
            assert (rows["gemini"].input_tokens, rows["gemini"].output_tokens, rows["gemini"].search_calls) == (112, 40, 2)
            assert rows["perplexity"].cost_usd == pytest.approx(0.00503) and rows["openai"].cost_usd is None
    finally:
        ledger.close()
    assert "engines ran 7 searches; cost $0.0332 (+2 answers without prices)" in result.summary()


def test_the_report_shows_retrieved_not_cited_and_the_engines_queries(project, tmp_path):
    from citecast.citations.report import run_report

    settings = load_settings()
    assert run_probe(settings, query=Q).ok
    report = run_report(settings, out=tmp_path / "report").report
    rows = {r["page"]: r for r in report.tables["retrieval"].as_dicts()}
    # All four engines list what they retrieved: geo is cited by each, seo-basics read by each and never cited.
    assert [rows["geo"][k] for k in ("retrieved_in", "cited_in", "retrieved_not_cited")] == [4, 4, 0]
    assert [rows["seo-basics"][k] for k in ("retrieved_in", "cited_in", "retrieved_not_cited", "not_cited_share")] \
        == [4, 0, 4, 1.0]
    assert rows["seo-basics"]["engines_passing_over"] == "anthropic, gemini, openai, perplexity"
    queries = [(r["page"], r["query"], r["answers"], r["engines"]) for r in report.tables["engine_queries"].as_dicts()]
    # Ties on answers are listed by the folded query ("generative…" before "geo vs seo").
    assert queries == [("geo", "generative engine optimisation definition", 3, "anthropic, gemini, openai"),
                       ("geo", "GEO vs SEO", 3, "anthropic, gemini, openai")]
    assert (tmp_path / "report" / "csv" / "retrieval.csv").exists()


def test_answer_excerpt_is_bounded_at_a_word():
    text = "one two three four five six seven"
    assert answer_excerpt(text, "excerpt", 60) == text
    assert answer_excerpt(text, "excerpt", 12) == "one two …"  # "one two thre" cut back to a whole word
    assert answer_excerpt(text, "full", 5) == text
    assert answer_excerpt(text, "none", 5) is None


def test_no_engine_key_reaches_logs_output_or_the_ledger(project, caplog):
    import logging

    keys = ["sk-test", "pplx-test", "gm-key", "sk-ant-test"]
    settings = load_settings()
    with caplog.at_level(logging.DEBUG):  # every logger, the SDKs' and httpx's included
        result = run_probe(settings, query=Q)
    assert result.ok
    seen = caplog.text + result.summary()
    assert {"httpx2", "anthropic._base_client"} & {r.name for r in caplog.records}, "the SDKs' debug logs were captured"
    leaked = [k for k in keys if k in seen]
    assert leaked == []
    db = settings.ledger_url.removeprefix("sqlite:///")
    data = open(db, "rb").read()
    assert [k for k in keys if k.encode() in data] == []
