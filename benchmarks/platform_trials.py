"""Platform trials: weeks of runs against misbehaving platform fakes, SIGKILLed while they post, audited.

    .venv/bin/python benchmarks/platform_trials.py [--pages 40] [--weeks 4] [--kills 3] [--seeds 3] [--json]
        [--write-rate 0.2] [--read-rate 0.15] [--token-rate 0.3] [--lag 0.8] [--linkedin-read-scope] [--grace S]

Each seed is a project of its own: every week its pages change (the platforms
refuse repeats), every page goes to X, LinkedIn, Reddit, Bluesky and
Mastodon, `--kills` runs are SIGKILLed at random points while they post, then
runs go on until one exits 0. The audit compares every (page, channel, week)
with what the platform holds: duplicates, lost posts and ledger rows that
disagree with the platform must all be 0. tests/test_exactly_once_platforms.py
runs 40 pages x 2 weeks x 2 kills a week in the test suite.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


def main() -> int:
    from tests.fakes.trials import Mix, trial

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pages", type=int, default=40)
    ap.add_argument("--weeks", type=int, default=4)
    ap.add_argument("--kills", type=int, default=3, help="SIGKILLed runs per week")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--write-rate", type=float, default=0.2)
    ap.add_argument("--read-rate", type=float, default=0.15)
    ap.add_argument("--token-rate", type=float, default=0.3)
    ap.add_argument("--lag", type=float, default=0.8)
    ap.add_argument("--linkedin-read-scope", action="store_true")
    ap.add_argument("--grace", type=float, default=None,
                    help="grace_seconds of every channel (default: lag + 1.2 s, at least 2 s); below lag + late landing "
                         "it shows what the grace period guards against")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    mix = Mix(write_rate=args.write_rate, read_rate=args.read_rate, token_rate=args.token_rate, lag=args.lag,
              grace=args.grace if args.grace is not None else max(2.0, args.lag + 1.2),
              linkedin_read_scope=args.linkedin_read_scope)
    rows = []
    for seed in range(args.seeds):
        tmp = Path(tempfile.mkdtemp(prefix="citecast-platforms-"))
        try:
            figures = trial(tmp / "site", pages=args.pages, weeks=args.weeks, kills_per_week=args.kills, mix=mix,
                            seed=seed)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        rows.append(figures)
        if not args.json:
            print(f"seed {seed}: {figures.expected} keys, {figures.posts} posts, duplicates {figures.duplicates}, lost "
                  f"{figures.lost}, mismatches {figures.mismatches}, unsettled weeks {figures.unsettled_weeks}; "
                  f"{figures.kills} SIGKILLs in {figures.runs} runs; faults: {figures.write_faults} writes, "
                  f"{figures.read_faults} reads, {figures.token_faults} token calls; found by {figures.found_by}; "
                  f"{figures.seconds:.0f} s", flush=True)
            for problem in figures.problems[:10]:
                print("   ", problem)
    total = {k: sum(getattr(r, k) for r in rows) for k in ("expected", "posts", "duplicates", "lost", "mismatches",
                                                          "unsettled_weeks", "kills", "runs", "write_faults",
                                                          "read_faults", "token_faults")}
    found_by: dict[str, int] = {}
    for r in rows:
        for how, n in r.found_by.items():
            found_by[how] = found_by.get(how, 0) + n
    result = {"mix": mix.describe(), "seeds": args.seeds, "pages": args.pages, "weeks": args.weeks,
              "kills_per_week": args.kills, **total, "found_by": found_by,
              "seconds": round(sum(r.seconds for r in rows), 1)}
    print(json.dumps(result) if args.json else f"total: {json.dumps(result)}")
    ok = total["duplicates"] == total["lost"] == total["mismatches"] == total["unsettled_weeks"] == 0
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
