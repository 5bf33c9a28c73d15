"""What the run's artifacts show for each post: channel, text, length against the limit, link, generator."""

from __future__ import annotations

import re

from citecast.channels.x import XChannel
from citecast.distribution import run as pipeline
from citecast.distribution.summary import length_against_limit, markdown_summary, post_rows
from citecast.ledger.store import Ledger


def test_dry_run_rows_link_the_outbox_file_and_measure_as_the_platform_does(project):
    report = pipeline.run_week(project.settings(), pipeline.RunOptions(week="2026-W48", dry_run=True))
    rows = post_rows(report)
    assert len(rows) == 15
    for row in rows:
        assert row["link"].startswith("file://") and row["link"].endswith(f"/2026-W48/{row['channel']}/{row['page']}.md")
        assert ":2026-W48:" not in row["link"] + row["link_label"]  # never the ledger key
        assert row["text"] and row["generator"] == "offline" and row["canonical_url"].startswith("https://")
        limit = {"x": 280, "linkedin": 3000, "reddit": 40000}[row["channel"]]
        assert re.fullmatch(rf"(\d+ parts, longest )?\d+/{limit} (weighted )?characters", row["length"]), row["length"]
    markdown = markdown_summary(report)
    assert markdown.count("[outbox file](file://") == 15
    assert not re.search(r"\|\s*[a-z0-9-]+:(x|linkedin|reddit):2026-W48:0\s*\|", markdown)


def test_length_is_counted_as_the_platform_counts():
    limits = XChannel.limits
    url = "https://example.com/" + "a" * 60
    assert length_against_limit([f"read {url}"], limits) == "28/280 weighted characters"  # a URL counts 23
    assert length_against_limit(["one", "two " * 10], limits) == "2 parts, longest 40/280 weighted characters"


def test_a_timed_out_review_says_so_once_and_lists_what_was_waiting(project):
    settings = project.settings()
    ledger = Ledger(settings.ledger_url)
    try:
        plan = pipeline.plan_week(settings, ledger, pipeline.RunOptions(week="2026-W48", dry_run=True))
        drafted = pipeline.draft_all(plan, ledger=ledger)
    finally:
        ledger.close()
    report = pipeline.report_of(plan, pipeline.waiting_outcomes(plan, drafted, "waited for review"))
    report.note = "review timed out after 24 h: nothing posted"
    markdown = markdown_summary(report)
    assert markdown.count("review timed out after 24 h") == 1 and "Nothing was due" not in markdown
    assert markdown.count("not posted: waited for review") == 15
    assert all(row["link"].startswith("https://") and row["text"] for row in post_rows(report))  # canonical URL
    assert project.sent() == []


def test_post_text_is_shown_not_rendered(project):
    from citecast.distribution.publishing import Outcome
    from citecast.distribution.run import RunReport

    report = RunReport("2026-W48", "r1", [Outcome("p", "x", "2026-W48", "dry_run", text="![img](https://evil.example/x.png) *hi*")])
    markdown = markdown_summary(report)
    assert "![img]" not in markdown and r"\!\[img\]" in markdown
