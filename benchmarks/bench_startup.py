"""Benchmark 5: start-up of `citecast --help` and `citecast check` on the shipped content.

    .venv/bin/python benchmarks/bench_startup.py [--runs 10] [--json]

Wall time of N fresh processes of each command (median) against `python -c
pass` with the same interpreter, and the modules each command imports
(PYTHONPROFILEIMPORTTIME): neither may import Prefect, the LLM or engine SDK
(openai) or a platform SDK (tweepy, praw, atproto, httpx, requests). The
heaviest imports are listed by cumulative time.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PY = str(Path(sys.executable))
CITECAST = str(Path(sys.executable).parent / "citecast")

#: modules the two commands must not pay for (Prefect and every SDK they do not use)
HEAVY = ("prefect", "openai", "httpx", "httpx2", "tweepy", "praw", "prawcore", "atproto", "mastodon", "requests",
         "oauthlib", "jinja2", "matplotlib", "pandas", "alembic")
#: modules `check` may need: templates (jinja2) are checked, the ledger (sqlalchemy, alembic) read if it exists
ALLOWED_FOR_CHECK = {"jinja2", "alembic"}

COMMANDS = {
    "python -c pass": [PY, "-c", "pass"],
    "citecast --help": [CITECAST, "--help"],
    "citecast check": [CITECAST, "check"],
}


def env() -> dict:
    e = {k: v for k, v in os.environ.items() if not k.startswith(("CITECAST_", "OPENAI_", "PREFECT_"))}
    e["CITECAST_CONFIG"] = str(REPO / "citecast.toml")
    return e


def timed(cmd: list[str], runs: int) -> list[float]:
    out = []
    for _ in range(runs + 1):  # the first run warms the page cache and .pyc files; dropped
        t0 = time.perf_counter()
        subprocess.run(cmd, cwd=REPO, env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        out.append(time.perf_counter() - t0)
    return out[1:]


def imports(cmd: list[str]) -> tuple[dict[str, int], int]:
    """{top-level module: cumulative microseconds}, and the number of modules imported."""
    proc = subprocess.run(cmd, cwd=REPO, env={**env(), "PYTHONPROFILEIMPORTTIME": "1"}, capture_output=True, text=True)
    tops: dict[str, int] = {}
    n = 0
    for line in proc.stderr.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)", line)
        if not m:
            continue
        n += 1
        name = m.group(4)
        if len(m.group(3)) == 1:  # a top-level import (not nested under another)
            top = name.split(".")[0]
            tops[top] = tops.get(top, 0) + int(m.group(2))
    return tops, n


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    load = os.getloadavg()[0]
    times = {name: timed(cmd, args.runs) for name, cmd in COMMANDS.items()}
    base = statistics.median(times["python -c pass"])
    res: dict = {"runs": args.runs, "load_before": load, "commands": {}}
    ok = True
    for name, cmd in COMMANDS.items():
        med = statistics.median(times[name])
        entry = {"median": med, "ratio": med / base, "min": min(times[name])}
        if name != "python -c pass":
            tops, n = imports(cmd)
            allowed = ALLOWED_FOR_CHECK if name == "citecast check" else set()
            bad = sorted(m for m in tops if m in HEAVY and m not in allowed)
            entry.update(modules=n, heavy_imported=bad,
                         top=sorted(tops.items(), key=lambda kv: -kv[1])[:8])
            ok &= not bad
        res["commands"][name] = entry
    if args.json:
        print(json.dumps(res))
    else:
        print(f"{args.runs} runs each, median wall time (load {load:.2f} before)")
        for name, e in res["commands"].items():
            line = f"  {name:16} {e['median'] * 1000:7.0f} ms = {e['ratio']:5.1f}x python -c pass"
            if "modules" in e:
                line += (f"; {e['modules']} modules; forbidden imported: {e['heavy_imported'] or 'none'}; heaviest: "
                         + ", ".join(f"{m} {us / 1000:.0f} ms" for m, us in e["top"][:5]))
            print(line)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
