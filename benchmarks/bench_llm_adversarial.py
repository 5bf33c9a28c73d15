"""Benchmark: LLM drafting against a server whose every answer is hostile, floods or hangs.

    .venv/bin/python benchmarks/bench_llm_adversarial.py [--pages 30] [--readme]

Every request to the fake OpenAI-compatible server (tests/fakes/openai_chat.py,
real HTTP on 127.0.0.1, the real openai SDK) is answered by the next of: a
flood up to the request's cap, a flood ignoring the cap (5 MB), hostile text
(links in every spelling, full-width handles and tags, HTML, template syntax),
drafts far too long, a slow-loris status line, a hang, a 429 with Retry-After
60 s, and a model that links what the page asks. Repairs get the same. All
pages start at once (llm.concurrency = pages), so each page's finishing time is
its own drafting time.

Targets: tokens per page <= 50,000; every page done within its deadline
(llm.page_deadline_seconds) plus the time the offline fallbacks take (measured in the same
run: all pages drafted offline) plus 0.5 s; no draft carries anything but the
canonical link and words.
"""

from __future__ import annotations

import argparse
import itertools
import os
import platform
import shutil
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

DEADLINE = 4.0
TIMEOUT = 2.0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pages", type=int, default=30)
    ap.add_argument("--readme", action="store_true", help="write the figures into benchmarks/README.md")
    args = ap.parse_args()
    # (tests.conftest, imported with the hostile strings, clears CITECAST_* variables: import it first)
    from tests.test_validation_hostile import HOSTILE_HANDLES, HOSTILE_LINKS, HOSTILE_MARKUP

    from benchmarks.bench_llm import fresh_site, write_readme

    tmp = fresh_site(args.pages, "citecast-bench-llm-adv-")

    from citecast import channels as registry
    from citecast.distribution.links import find_links
    from citecast.distribution.run import make_drafter
    from citecast.pages.loading import load_library
    from citecast.settings import load_settings
    from tests.fakes.openai_chat import FakeChatServer

    hostile = " ".join(HOSTILE_LINKS + HOSTILE_MARKUP + HOSTILE_HANDLES)
    kinds = itertools.cycle(["flood", "flood_no_cap", "inject:" + hostile, "too_long", "trickle", "hang", "rate_limit",
                             "gullible"])
    server = FakeChatServer(hang_seconds=30, retry_after="60").start()
    server.trickle_seconds = 0.5
    server.choose = lambda body: next(kinds)
    try:
        os.environ.update({
            "CITECAST_LLM__MODEL": "bench-model", "CITECAST_LLM__BASE_URL": server.base_url,
            "CITECAST_LLM__CONCURRENCY": str(args.pages), "CITECAST_LLM__MAX_RETRIES": "2",
            "CITECAST_LLM__TIMEOUT_SECONDS": str(TIMEOUT), "CITECAST_LLM__PAGE_DEADLINE_SECONDS": str(DEADLINE),
            "CITECAST_LLM__REPAIR_ATTEMPTS": "1", "CITECAST_LLM__BUDGET_TOKENS": "0", "CITECAST_LLM__BUDGET_USD": "0",
        })
        settings = load_settings()
        library = load_library(settings)
        outbox = settings.path("outbox")
        chans = {c: registry.resolve(c, settings.channel_options(c), outbox, dry_run=True).channel
                 for c in ("x", "linkedin", "reddit")}
        work = [(p, dict(chans)) for p in library.pages]
        drafter = make_drafter(settings)
        done_at: list[float] = []
        drafted = []
        t0 = time.perf_counter()
        for pd in drafter.draft_iter(work):
            done_at.append(time.perf_counter() - t0)
            drafted.append(pd)
        wall = time.perf_counter() - t0
        # What the fallbacks cost on their own: every page drafted offline, in this run, on this machine.
        from citecast.distribution.drafting import OfflineDrafter
        from citecast.distribution.templates import Templates

        t1 = time.perf_counter()
        OfflineDrafter(Templates(settings.path("templates"), settings.templates), settings.distribution.utm,
                       {}).draft_pages(work)
        offline = time.perf_counter() - t1
    finally:
        server.stop()

    per_page = [sum(d.tokens_in + d.tokens_out for d in pd.drafts.values()) for pd in drafted]
    leaked = 0
    for pd in drafted:
        for d in pd.drafts.values():
            text = "\n".join(d.parts) + "\n" + (d.title or "")
            links = find_links(text)
            leaked += links != [pd.page.canonical_url] or any(m in text for m in ("evil", "<script", "{{", "＠", "#広告"))
    served = sorted({k.partition(":")[0] for k, _ in server.served} | {"trickle", "hang", "rate_limit"})
    f = {
        "pages": len(drafted), "calls": len(server.calls), "served": served,
        "tokens_max": max(per_page), "tokens_mean": sum(per_page) / len(per_page),
        "slowest": max(done_at), "wall": wall, "leaked": leaked, "offline": offline,
        "drafts": sum(len(pd.drafts) for pd in drafted), "errors": sum(len(pd.errors) for pd in drafted),
        "fallbacks": drafter.stats.fallbacks, "llm": drafter.stats.llm_drafts,
    }
    f["bound"] = DEADLINE + f["offline"] + 0.5
    report = render(f)
    print(report)
    ok = f["tokens_max"] <= 50_000 and f["slowest"] <= f["bound"] and leaked == 0
    print("targets:", "met" if ok else "NOT met")
    if args.readme:
        write_readme(report, "## LLM drafting, adversarial server\n")
    shutil.rmtree(tmp, ignore_errors=True)
    return 0 if ok else 1


def render(f: dict) -> str:
    machine = f"{platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} cores"
    return f"""\
Command: `.venv/bin/python benchmarks/bench_llm_adversarial.py --readme` ({machine})

{f['pages']} pages x 3 channels, every answer hostile in turn ({', '.join(f['served'])});
timeout {TIMEOUT:g} s, page deadline {DEADLINE:g} s, 2 retries, 1 repair, no budget.

| measure | result | target |
|---|---|---|
| tokens per page (all calls, repairs, failed answers) | max {f['tokens_max']:,}, mean {f['tokens_mean']:,.0f} | <= 50,000 |
| slowest page, from the run's start (all pages start at once) | {f['slowest']:.2f} s | <= {f['bound']:.2f} s = deadline {DEADLINE:g} s + drafting every page offline {f['offline']:.2f} s + 0.5 s |
| drafts carrying anything but the canonical link and words | {f['leaked']} of {f['drafts']} ({f['llm']} llm, {f['fallbacks']} fallback, {f['errors']} errors) | 0 |
| requests | {f['calls']} for {f['pages']} pages, {f['wall']:.2f} s in all | |
"""


if __name__ == "__main__":
    raise SystemExit(main())
