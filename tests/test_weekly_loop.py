"""The weekly loop on embedded defaults: offline drafts, outbox, SQLite ledger."""

from __future__ import annotations

from datetime import datetime, timezone

from citecast import channels
from citecast.ledger import Ledger
from citecast.distribution.run import RunOptions, run_week
from citecast.distribution.validation import draft_problems
from citecast.posts import Draft
from tests.conftest import good_page

MONDAY = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)  # 2026-W48
NEXT_MONDAY = datetime(2026, 11, 30, 9, 0, tzinfo=timezone.utc)


def events(settings, **kw):
    ledger = Ledger(settings.ledger_url)
    try:
        return ledger.events(**kw)
    finally:
        ledger.close()


def test_shipped_content_goes_out_as_15_valid_posts(project):
    settings = project.settings()
    report = run_week(settings, now=MONDAY)
    assert report.slot == "2026-W48"
    assert report.count("dry_run") == 15 and len(report.outcomes) == 15
    rows = events(settings)
    assert len(rows) == 15 and {r.status for r in rows} == {"dry_run"}
    assert {r.channel for r in rows} == {"x", "linkedin", "reddit"}

    sent = project.sent()
    assert len(sent) == 15
    pages = {r.page: r.canonical_url for r in rows}
    for post in sent:
        page = post["key"].split(":")[0]
        adapter = channels.adapter_class(post["channel"])({})
        text = "\n".join(post["parts"])
        # the exact canonical URL, exactly once
        assert text.count(pages[page]) == 1, post
        assert post["link"] == pages[page]
        # within the platform's limit, as the platform counts
        for part in post["parts"]:
            assert 0 < adapter.limits.count(part) <= adapter.limits.max_length
        if post["channel"] == "reddit":
            assert post["title"] and len(post["title"]) <= 300
    # the readable copies exist where the summary says
    for r in rows:
        assert r.platform_url.startswith("file://")


def test_drafts_pass_the_same_checks_an_llm_draft_must_pass(project):
    settings = project.settings()
    run_week(settings, now=MONDAY)
    for r in events(settings):
        adapter = channels.adapter_class(r.channel)({})
        if r.channel == "linkedin":
            continue  # stored escaped, as LinkedIn receives it
        draft = Draft(r.channel, tuple(r.text), r.link, r.title)
        assert draft_problems(draft, adapter, "") == [], (r.page, r.channel)


def test_second_run_same_week_posts_nothing(project):
    settings = project.settings()
    run_week(settings, now=MONDAY)
    again = run_week(settings, now=MONDAY)
    assert again.outcomes == []
    assert set(again.not_due.values()) == {"up to date"}
    assert len(project.sent()) == 15


def test_edited_page_is_due_again_and_unchanged_monthly_page_is_not(project):
    settings = project.settings()
    path = project.content / "tracking-ai-citations.md"  # biweekly
    run_week(settings, now=MONDAY)
    path.write_text(path.read_text().replace("Track AI citations", "Track AI citations carefully"))
    report = run_week(settings, now=NEXT_MONDAY)
    pages = {o.page for o in report.outcomes}
    assert "tracking-ai-citations" in pages  # changed: due although biweekly
    assert "generative-engine-optimisation" not in pages  # biweekly, unchanged: not yet
    assert report.not_due["generative-engine-optimisation"] == "up to date"
    assert {o.status for o in report.outcomes} == {"dry_run"}


def test_force_posts_again_in_the_same_week(project):
    settings = project.settings()
    run_week(settings, now=MONDAY)
    report = run_week(settings, RunOptions(pages=["canonical-urls-for-citations"], channels=["x"], force=True), now=MONDAY)
    assert [(o.page, o.channel, o.status) for o in report.outcomes] == [("canonical-urls-for-citations", "x", "dry_run")]
    rows = events(settings, page="canonical-urls-for-citations", channel="x")
    assert sorted(r.seq for r in rows) == [0, 1]
    assert (project.outbox / "2026-W48" / "x" / "canonical-urls-for-citations.1.md").exists()


def test_weekly_budget_caps_pages(project, monkeypatch):
    monkeypatch.setenv("CITECAST_DISTRIBUTION__MAX_PAGES_PER_WEEK", "2")
    settings = project.settings()
    assert settings.distribution.max_pages_per_week == 2
    report = run_week(settings, now=MONDAY)
    assert len({o.page for o in report.outcomes}) == 2
    # the priority-1 page goes first
    assert "distribution-first-ai-visibility" in {o.page for o in report.outcomes}
    assert sum("budget" in why for why in report.not_due.values()) == 3


def test_broken_pages_are_skipped_and_listed_while_good_ones_go_out(project):
    p = project
    p.write_page("bad-yaml.md", "---\ntitle: [oops\n---\n\nBody\n")
    p.write_page("no-title.md", "---\ntopic: x\n---\n\nBody here.\n")
    p.write_page("relative.md", "---\ntitle: R\ncanonical_url: relative/url\n---\n\nBody.\n")
    p.write_page("dupe.md", good_page("tracking-ai-citations", "Dupe"))
    (p.content / "binary.md").write_bytes(b"---\ntitle: \xff\xfe\n---\n\nx\n")
    p.write_page("empty.md", "---\ntitle: Empty\n---\n")
    p.write_page("templated.md", good_page("templated").replace(
        "The first point is short and concrete.", "Use {{ config.items() }} and {% include '/etc/passwd' %} literally."))
    settings = p.settings()
    report = run_week(settings, RunOptions(pages=None), now=MONDAY)
    failed_files = {pr.file for pr in report.problems if pr.severity == "error"}
    assert failed_files == {f"content/{n}" for n in ("bad-yaml.md", "no-title.md", "relative.md", "dupe.md", "binary.md", "empty.md")}
    assert report.count("failed", "unconfirmed") == 0 and report.count("dry_run") == 15
    # the templated page won a place in the budget of 5 over a shipped page of the same priority
    assert "templated" in {o.page for o in report.outcomes}
    x_post = next(s for s in p.sent() if s["key"].startswith("templated:x"))
    assert "{{ config.items() }}" in "\n".join(x_post["parts"])  # page text comes out literally


def test_channel_that_cannot_draft_is_reported_not_dropped(project):
    # A template whose fixed text alone breaks X's limit: no post fits.
    (project.templates / "x.md.j2").write_text("{% block post %}" + "word " * 300 + "{{ link }}{% endblock %}")
    settings = project.settings()
    report = run_week(settings, now=MONDAY)
    x = [o for o in report.outcomes if o.channel == "x"]
    assert len(x) == 5 and {o.status for o in x} == {"failed"}
    assert all("drafting failed" in o.detail for o in x)
    assert report.count("dry_run") == 10
    rows = events(settings, channel="x")
    assert {r.status for r in rows} == {"failed"} and all("weighted characters" in r.error for r in rows)
    # fixing the template lets the next run post them: failed events are retried
    import shutil
    from tests.conftest import REPO

    shutil.copy(REPO / "templates" / "x.md.j2", project.templates / "x.md.j2")
    report = run_week(settings, now=MONDAY)
    assert [o.status for o in report.outcomes] == ["dry_run"] * 5
