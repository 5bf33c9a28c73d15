"""Exactly once against platforms that misbehave as the real ones do, with SIGKILLs.

40 pages x 2 weeks x X, LinkedIn, Reddit, Bluesky and Mastodon. The fakes
fault writes (429, 503, dropped before/after storing, stalled after storing,
stored then 500, stored after the client gave up), reads and token calls,
show new posts only after an indexing lag, answer a page of results at a
time, refuse repeats (X, LinkedIn naming the existing post, a Bluesky record
key that exists), and LinkedIn refuses reads to a token without
r_member_social. Each week two `citecast run`s are SIGKILLed while they post,
then runs go on until one exits 0. For every (page, channel, week) the
platform must hold the post exactly once and the ledger must say published
with that post's id. The bigger run is benchmarks/platform_trials.py.
"""

from __future__ import annotations

import pytest

from tests.fakes.trials import Mix, trial


@pytest.mark.slow
def test_every_post_exactly_once_and_the_ledger_agrees(tmp_path):
    mix = Mix()
    figures = trial(tmp_path / "site", pages=40, weeks=2, kills_per_week=2, mix=mix, seed="test")
    summary = {k: v for k, v in figures.__dict__.items() if k != "problems"}
    print(summary)
    assert figures.problems == [], "\n".join(figures.problems[:20])
    assert (figures.duplicates, figures.lost, figures.mismatches) == (0, 0, 0)
    assert figures.unsettled_weeks == 0
    assert figures.posts == figures.expected == 400
    # the misbehaviour really happened, and was settled in each of the ways it can be
    assert figures.kills >= 3, summary
    assert figures.write_faults >= 30 and figures.read_faults >= 5 and figures.token_faults >= 1, summary
    assert figures.found_by.get("DUPLICATE_POST refusal", 0) >= 1, summary  # LinkedIn without read scope
    assert figures.found_by.get("record key", 0) >= 1, summary  # Bluesky
    assert sum(n for how, n in figures.found_by.items() if how.startswith("lookup")) >= 1, summary
