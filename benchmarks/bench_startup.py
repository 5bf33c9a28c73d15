"""Benchmark 5: start-up of `citecast --help` and `citecast check` on the shipped content.

    .venv/bin/python benchmarks/bench_startup.py [--runs 10] [--json] [--baseline TREE]

In one run, interleaved so that every command meets the same machine load:

- wall time and CPU time (user + system) of N fresh processes of each command,
  as ratios against a bare `python -c pass` and against `python -c "import typer"`
  (the CLI framework alone: the least any Typer command can cost);
- import time from `python -X importtime` (median of N runs): all of it, and the
  part spent importing citecast's own modules and what they pull in ("own").
  Target: `citecast check` at most 300 ms own import time.

Neither command may import Prefect, the LLM or engine SDKs (openai) or a
platform SDK (tweepy, praw, atproto, httpx, requests); the heaviest imports are
listed by cumulative time.

`--baseline TREE` adds `citecast check` run from another checkout of citecast
(a `git worktree` of an older commit; its own code on sys.path, this
interpreter and the same content and settings), for a before/after in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PY = str(Path(sys.executable))
OWN_TARGET_MS = 300

#: modules the two commands must not pay for (Prefect and every SDK they do not use)
HEAVY = ("prefect", "openai", "httpx", "httpx2", "tweepy", "praw", "prawcore", "atproto", "mastodon", "requests",
         "oauthlib", "jinja2", "matplotlib", "pandas", "alembic", "sqlalchemy", "pkg_resources")
#: modules `check` may need: templates (jinja2) are checked, the ledger (sqlalchemy, alembic) read if it exists
ALLOWED_FOR_CHECK = {"jinja2", "alembic", "sqlalchemy"}

COMMANDS = {
    "python -c pass": [PY, "-c", "pass"],
    "import typer": [PY, "-c", "import typer"],
    "citecast --help": [PY, "-m", "citecast", "--help"],
    "citecast check": [PY, "-m", "citecast", "check"],
}
BASELINES = ("python -c pass", "import typer")
BASELINE = "check @ baseline"


def env() -> dict:
    e = {k: v for k, v in os.environ.items() if not k.startswith(("CITECAST_", "OPENAI_", "PREFECT_", "PYTHON"))}
    e["CITECAST_CONFIG"] = str(REPO / "citecast.toml")
    return e


def timed(cmd: list[str], cwd: Path = REPO) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one fresh process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def import_profile(cmd: list[str], cwd: Path = REPO) -> dict:
    """One run under -X importtime: total and own microseconds, top-level modules by cumulative time."""
    proc = subprocess.run([cmd[0], "-X", "importtime", *cmd[1:]], cwd=cwd, env=env(), capture_output=True, text=True)
    tops: dict[str, int] = {}
    n = 0
    for line in proc.stderr.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)", line)
        if not m:
            continue
        n += 1
        if len(m.group(3)) == 1:  # a top-level import (not nested under another)
            top = m.group(4).split(".")[0]
            tops[top] = tops.get(top, 0) + int(m.group(2))
    return {"total": sum(tops.values()), "own": tops.get("citecast", 0), "tops": tops, "modules": n}


def measure(runs: int, commands: dict[str, tuple[list[str], Path]]) -> dict:
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
    profiles: dict[str, list[dict]] = {name: [] for name in commands}
    for cmd, cwd in commands.values():  # warm the page cache and .pyc files; not counted
        timed(cmd, cwd)
    for _ in range(runs):  # round robin: a burst of load hits every command alike
        for name, (cmd, cwd) in commands.items():
            samples[name].append(timed(cmd, cwd))
            profiles[name].append(import_profile(cmd, cwd))
    res: dict = {}
    for name in commands:
        walls, cpus = zip(*samples[name])
        profs = profiles[name]
        tops: dict[str, list[int]] = {}
        for p in profs:
            for top, us in p["tops"].items():
                tops.setdefault(top, []).append(us)
        res[name] = {
            "median": statistics.median(walls), "min": min(walls), "cpu": statistics.median(cpus),
            "import_ms": statistics.median(p["total"] for p in profs) / 1000,
            "own_import_ms": statistics.median(p["own"] for p in profs) / 1000,
            "modules": int(statistics.median(p["modules"] for p in profs)),
            "top": sorted(((m, statistics.median(v)) for m, v in tops.items()), key=lambda kv: -kv[1])[:8],
            "imported": sorted(tops),
        }
    return res


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--baseline", type=Path, help="another checkout of citecast to compare `citecast check` with")
    args = ap.parse_args()
    load = os.getloadavg()[0]
    commands = {name: (cmd, REPO) for name, cmd in COMMANDS.items()}
    if args.baseline:  # run from its own folder: `python -m citecast` imports that tree's code
        commands[BASELINE] = (COMMANDS["citecast check"], args.baseline.resolve())
    measured = measure(args.runs, commands)
    bare, typer_only = (measured[b] for b in BASELINES)
    res: dict = {"runs": args.runs, "load_before": load, "load_after": os.getloadavg()[0],
                 "own_target_ms": OWN_TARGET_MS, "commands": {}}
    ok = True
    for name, e in measured.items():
        e.update(ratio=e["median"] / bare["median"], cpu_ratio=e["cpu"] / bare["cpu"],
                 ratio_typer=e["median"] / typer_only["median"], cpu_ratio_typer=e["cpu"] / typer_only["cpu"],
                 import_ratio_typer=e["import_ms"] / typer_only["import_ms"])
        if name.startswith("citecast"):
            allowed = ALLOWED_FOR_CHECK if name == "citecast check" else set()
            e["heavy_imported"] = sorted(m for m in e["imported"] if m in HEAVY and m not in allowed)
            ok &= not e["heavy_imported"]
        if name == "citecast check":
            e["own_target_met"] = e["own_import_ms"] <= OWN_TARGET_MS
        if name == BASELINE:
            e["heavy_imported"] = []  # an older tree is measured, not judged
        res["commands"][name] = e
    if args.json:
        print(json.dumps(res))
    else:
        print(f"{args.runs} runs each, interleaved; medians (load {load:.2f} before, {res['load_after']:.2f} after)")
        for name, e in res["commands"].items():
            print(f"  {name:16} wall {e['median'] * 1000:5.0f} ms = {e['ratio']:4.1f}x pass, {e['ratio_typer']:4.2f}x typer"
                  f" | cpu {e['cpu'] * 1000:5.0f} ms = {e['cpu_ratio']:4.1f}x pass, {e['cpu_ratio_typer']:4.2f}x typer"
                  f" | imports {e['import_ms']:5.0f} ms ({e['own_import_ms']:.0f} ms citecast's own), {e['modules']} modules")
            if name.startswith("citecast") or name == BASELINE:
                print(f"  {'':16} forbidden imported: {', '.join(e['heavy_imported']) or 'none'}; heaviest: "
                      + ", ".join(f"{m} {us / 1000:.0f} ms" for m, us in e["top"][:6]))
        check = res["commands"]["citecast check"]
        print(f"citecast check: {check['own_import_ms']:.0f} ms own import time "
              f"(target <= {OWN_TARGET_MS} ms: {'met' if check['own_target_met'] else 'NOT met'})")
        if BASELINE in res["commands"]:
            old = res["commands"][BASELINE]
            print(f"against the baseline: wall {check['median'] / old['median']:.2f}x, cpu {check['cpu'] / old['cpu']:.2f}x, "
                  f"own import time {check['own_import_ms'] / old['own_import_ms']:.2f}x")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
