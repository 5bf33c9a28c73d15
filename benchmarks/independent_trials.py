"""Exactly once against the independent platform fakes (tests/independent_fakes/, issue 13).

    .venv/bin/python benchmarks/independent_trials.py [--pages 40] [--weeks 2026-W48,2026-W49] [--kills 2]
        [--seeds 1] [--first-seed 1] [--write-rate 0.2] [--read-rate 0.15] [--empty-page-rate 0.2] [--token-every 4]
        [--lag 3.0] [--late 0.8] [--grace S] [--channels x,reddit,linkedin,mastodon,bluesky]

Runs `citecast run --local --week W` as subprocesses against fake X, Reddit, LinkedIn, Mastodon and Bluesky
servers (`--channels`: a subset), SIGKILLs `--kills` runs of each week while they post, then runs each week
until it exits 0, and compares the ledger with what the fakes stored for every (page, channel, week). Exits 1
on any duplicate, loss or mismatch, and keeps that trial's site: each run's output (runs/), the fakes' posts
and X's journal of writes and reads (platform-<channel>.json) beside the ledger.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> int:
    from tests.independent_fakes.servers import Mix
    from tests.independent_fakes.trial import CHANNELS, run_trial

    ap = argparse.ArgumentParser()
    ap.add_argument("--pages", type=int, default=40)
    ap.add_argument("--weeks", default="2026-W48,2026-W49")
    ap.add_argument("--kills", type=int, default=2, help="SIGKILLed runs per week")
    ap.add_argument("--seeds", type=int, default=1)
    ap.add_argument("--first-seed", type=int, default=1)
    ap.add_argument("--write-rate", type=float, default=0.2)
    ap.add_argument("--read-rate", type=float, default=0.15)
    ap.add_argument("--empty-page-rate", type=float, default=0.2)
    ap.add_argument("--token-every", type=int, default=4)
    ap.add_argument("--lag", type=float, default=3.0)
    ap.add_argument("--late", type=float, default=0.8)
    ap.add_argument("--grace", type=float, default=None, help="default: lag + late + 0.7 s")
    ap.add_argument("--channels", default=",".join(CHANNELS), help="a subset, e.g. x,reddit,linkedin,mastodon")
    args = ap.parse_args()
    channels = tuple(args.channels.split(","))
    if unknown := set(channels) - set(CHANNELS):
        ap.error(f"--channels: unknown {', '.join(sorted(unknown))} (known: {', '.join(CHANNELS)})")
    grace = args.grace if args.grace is not None else args.lag + args.late + 0.7
    bad = 0
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        mix = Mix(write_rate=args.write_rate, read_rate=args.read_rate, empty_page_rate=args.empty_page_rate,
                  token_every=args.token_every, lag=args.lag, late_max=args.late, seed=seed)
        tmp = Path(tempfile.mkdtemp(prefix="citecast-independent-"))
        t0 = time.time()
        r = run_trial(tmp, args.pages, args.weeks.split(","), args.kills, mix, grace, channels=channels)
        if r["duplicates"] or r["lost"] or r["mismatches"]:
            print(f"  kept {tmp} (ledger: cd there; citecast ledger --json)")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
        summary = {"seed": seed, "seconds": round(time.time() - t0), "keys": r["keys"], "platform_posts": r["posts"],
                   "duplicates": len(r["duplicates"]), "lost": len(r["lost"]), "mismatches": len(r["mismatches"]),
                   "ledger": dict(r["ledger_status"]), "faults": dict(sorted(r["faults"].items())),
                   "runs": dict(r["stats"])}
        print(json.dumps(summary))
        for name in ("duplicates", "lost", "mismatches"):
            for item in r[name][:20]:
                print(f"  {name}: {item}")
        bad += len(r["duplicates"]) + len(r["lost"]) + len(r["mismatches"])
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
