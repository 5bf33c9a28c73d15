"""The draft cache: an unchanged page costs no LLM call on a re-run or a re-share."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from citecast.distribution.draft_cache import DraftCache, Entry, cache_key
from citecast.ledger import Ledger
from citecast.distribution.run import RunOptions, make_drafter, run_week
from citecast.posts import Draft
from tests.conftest import good_page
from tests.fakes.openai_chat import FakeChatServer
from tests.test_llm_drafting import assert_valid, configure, work

MONDAY = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)


@pytest.fixture
def server():
    with FakeChatServer() as srv:
        yield srv


@pytest.fixture
def ledger(empty_project):
    led = Ledger(empty_project.settings().ledger_url)
    yield led
    led.close()


def run(settings, ledger):
    items = work(settings)
    drafter = make_drafter(settings, ledger)
    drafted = drafter.draft_pages(items)
    assert_valid(settings, drafted, items)
    return drafter, {pd.page.slug: pd for pd in drafted}


def test_cache_round_trip(ledger):
    cache = DraftCache(ledger)
    key = cache_key("h", "x", "t", "m", "https://e.com/a")
    assert key != cache_key("h", "x", "t", "m", "https://e.com/a?utm_source=x")
    draft = Draft(channel="x", parts=("a", "b https://e.com/a"), link="https://e.com/a", generator="llm", model="m",
                  tokens_in=5)
    cache.put(Entry(key, "h", "x", "t", "m", draft))
    cache.put(Entry(key, "h", "x", "t", "m", draft))  # a second put replaces, never fails
    got = cache.get(key)
    assert got.parts == draft.parts and got.link == draft.link and got.model == "m" and got.generator == "llm"
    assert cache.get("nope") is None


def test_an_unchanged_page_costs_no_call_on_a_second_run(empty_project, monkeypatch, server, ledger):
    empty_project.write_page("one.md", good_page("one"))
    empty_project.write_page("two.md", good_page("two"))
    settings = configure(empty_project, monkeypatch, server)
    _, first = run(settings, ledger)
    assert len(server.calls) == 2

    drafter, second = run(settings, ledger)
    assert len(server.calls) == 2  # zero new calls
    assert drafter.stats.calls == 0 and drafter.stats.cache_hits == 6
    for slug, pd in second.items():
        for name, d in pd.drafts.items():
            assert d.parts == first[slug].drafts[name].parts
            assert d.generator == "llm" and d.generator_note == "from the draft cache"
            assert d.tokens_in == d.tokens_out == 0 and d.cost_usd == 0.0


def test_a_changed_page_or_template_is_drafted_again(empty_project, monkeypatch, server, ledger):
    empty_project.write_page("one.md", good_page("one"))
    empty_project.write_page("two.md", good_page("two"))
    settings = configure(empty_project, monkeypatch, server)
    run(settings, ledger)
    assert len(server.calls) == 2

    empty_project.write_page("two.md", good_page("two") + "\nOne more sentence with news.\n")
    run(settings, ledger)
    assert len(server.calls) == 3  # only the changed page
    assert "Two" in FakeChatServer.user(server.calls[2])

    x = empty_project.templates / "x.md.j2"
    x.write_text(x.read_text().replace("Write a short thread", "Write a very short thread"))
    run(settings, ledger)
    assert len(server.calls) == 5  # both pages, for X only
    for call in server.calls[3:]:
        assert set(call["response_format"]["json_schema"]["schema"]["properties"]) == {"x"}


def test_another_model_does_not_reuse_the_cache(empty_project, monkeypatch, server, ledger):
    empty_project.write_page("one.md", good_page("one"))
    run(configure(empty_project, monkeypatch, server), ledger)
    run(configure(empty_project, monkeypatch, server, model="another-model"), ledger)
    assert len(server.calls) == 2


def test_fallback_drafts_are_cached_unless_their_cause_may_pass(empty_project, monkeypatch, server, ledger):
    empty_project.write_page("one.md", good_page("one"))
    empty_project.write_page("two.md", good_page("two"))
    settings = configure(empty_project, monkeypatch, server)
    server.choose = lambda body: "refusal" if "One" in FakeChatServer.user(body) else "server_error"
    _, first = run(settings, ledger)
    assert {d.generator for pd in first.values() for d in pd.drafts.values()} == {"fallback"}
    assert len(server.calls) == 2
    server.choose = None
    _, second = run(settings, ledger)
    # the refused page is not asked again: its fallback comes from the cache, note and all
    assert {d.generator for d in second["one"].drafts.values()} == {"fallback"}
    assert all(d.generator_note.startswith("from the draft cache (the model refused") for d in second["one"].drafts.values())
    # a server error may be gone by now: that page is drafted again, by the LLM this time
    assert len(server.calls) == 3
    assert {d.generator for d in second["two"].drafts.values()} == {"llm"}


def test_a_cached_draft_that_no_longer_validates_is_drafted_again(empty_project, monkeypatch, server, ledger):
    empty_project.write_page("one.md", good_page("one"))
    settings = configure(empty_project, monkeypatch, server)
    drafter, _ = run(settings, ledger)
    # someone tampers with the cache (or the limits tightened): the drafter does not trust it
    from citecast.ledger.tables import DraftCacheRow

    with ledger.session() as s:
        for row in s.query(DraftCacheRow).filter_by(channel="x"):
            row.draft = {**row.draft, "parts": ["no link here"]}
    _, again = run(settings, ledger)
    assert len(server.calls) == 2
    assert set(server.calls[1]["response_format"]["json_schema"]["schema"]["properties"]) == {"x"}
    assert again["one"].drafts["x"].generator_note is None


def test_a_reshare_takes_a_fresh_angle_and_a_repeated_angle_costs_no_call(project, monkeypatch, server):
    settings = configure(project, monkeypatch, server)
    run_week(settings, now=MONDAY)
    assert len(server.calls) == 5
    assert all("This week, lead with" not in FakeChatServer.user(c) for c in server.calls)  # the answer leads
    # the next week's re-share of the unchanged pages: another angle, so another call per page
    second = run_week(settings, now=datetime(2026, 11, 30, 9, 0, tzinfo=timezone.utc))
    weekly = len({o.page for o in second.outcomes})  # the pages whose cadence is weekly
    assert weekly >= 3 and len(server.calls) == 5 + weekly
    for call in server.calls[5:]:
        assert "This week, lead with" in FakeChatServer.user(call) and "<angle>" in FakeChatServer.user(call)
    ledger = Ledger(settings.ledger_url)
    try:
        angles = {(r.page, r.slot): r.angle for r in ledger.events()}
        drafts = {c: {} for c in ("x", "linkedin", "reddit")}
        for r in ledger.events():
            drafts[r.channel].setdefault(r.page, set()).add(str(r.text))
        # the same drafts again (the angle a run already drafted) come from the cache
        from citecast.ledger.tables import EventRow

        with ledger.session() as s:
            s.query(EventRow).filter(EventRow.slot == "2026-W49").delete()
    finally:
        ledger.close()
    assert {a for (_, slot), a in angles.items() if slot == "2026-W48"} == {"answer"}
    assert {a for (_, slot), a in angles.items() if slot == "2026-W49"} == {"point:0"}
    shared_twice = [texts for by_page in drafts.values() for texts in by_page.values() if len(texts) > 1]
    assert len(shared_twice) == 3 * weekly  # and each of those differs between the weeks (a set of 2 texts)
    run_week(settings, now=datetime(2026, 11, 30, 9, 0, tzinfo=timezone.utc))
    assert len(server.calls) == 5 + weekly
