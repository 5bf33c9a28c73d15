"""Benchmark 4: the citation probe against its physical limit.

    .venv/bin/python benchmarks/bench_probe.py [--queries 200] [--latency 1.0] [--slots 8] [--json]

`citecast.citations.probe.run_probe`, as `citecast probe` runs it, over Q tracked
queries (the pages' `queries:`) x 2 engines (openai_search through the
Responses API, perplexity through chat completions) x 3 samples, the real
openai SDK over real HTTP against tests/fakes/engines.py. Both engines are
served by one fake that answers after `latency` seconds and serves at most
`slots` requests at once (the rest queue in the server), so

    limit = Q x 2 x 3 x latency / slots

`[citations] concurrency` is the probe's only concurrency knob: one thread
pool of that size shared by every engine. It is set to `slots` here (the
default, 4, would make the probe take 2x the limit: see the README).
"""

from __future__ import annotations

import argparse
import re
import json
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

ENGINES = 2


def slow_engine_server(answers, latency: float, slots: int):
    """The fake engine server, each answer after `latency` s, at most `slots` at once."""
    from tests.fakes.engines import FakeEngineServer

    class Slow(FakeEngineServer):
        def __init__(self, *a, **kw):
            self.gate = threading.BoundedSemaphore(slots)
            self.in_flight = self.max_in_flight = 0
            super().__init__(*a, **kw)

        def _handler(self):
            base = super()._handler()
            fake = self

            class Handler(base):
                def do_POST(self):
                    with fake.gate:
                        with fake._lock:
                            fake.in_flight += 1
                            fake.max_in_flight = max(fake.max_in_flight, fake.in_flight)
                        try:
                            time.sleep(latency)
                            base.do_POST(self)
                        finally:
                            with fake._lock:
                                fake.in_flight -= 1

            return Handler

    return Slow(answers)


def make_project(root: Path, queries: int, base_url: str, concurrency: int) -> list[str]:
    """Q/2 pages with two queries each; the fake cites each page in its answers."""
    (root / "content").mkdir(parents=True)
    shutil.copytree(REPO / "templates", root / "templates")
    toml = (REPO / "citecast.toml").read_text(encoding="utf-8")
    toml += f"""
[citations]
samples = 3
concurrency = {concurrency}
timeout_seconds = 30

[citations.engines.openai]
kind = "openai_search"
model = "gpt-bench"
base_url = "{base_url}"

[citations.engines.perplexity]
kind = "perplexity"
model = "sonar"
base_url = "{base_url}"
"""
    (root / "citecast.toml").write_text(toml, encoding="utf-8")
    qs = []
    for i in range((queries + 1) // 2):
        mine = [f"what is probe topic {i}", f"how does probe topic {i} work"][: queries - len(qs)]
        qs += mine
        body = (f"Probe topic {i} is a page whose first paragraph answers the question directly, in plain "
                f"sentences that stand on their own.\n\n## Key points\n\n- One point, 42%.\n\n## FAQ\n\n"
                f"### Does it work?\n\nYes.\n")
        qlines = "".join(f"  - {q}\n" for q in mine)
        (root / "content" / f"probe-{i:04}.md").write_text(
            f"---\ntitle: Probe topic {i}\nslug: probe-{i:04}\ntopic: t{i % 5}\nupdated: 2026-01-02\n"
            f"queries:\n{qlines}---\n\n{body}", encoding="utf-8")
    return qs


def one_trial(queries: int, latency: float, slots: int, concurrency: int) -> dict:
    from tests.fakes.engines import Scripted

    for name in list(os.environ):
        if name.startswith(("CITECAST_", "OPENAI_", "PERPLEXITY_")):
            del os.environ[name]
    tmp = Path(tempfile.mkdtemp(prefix="citecast-bench-probe-"))
    root = tmp / "site"
    answers = {}
    server = None
    try:
        # The answers need the page URLs, the project needs the server URL: script after both exist.
        server = slow_engine_server(answers, latency, slots).__enter__()
        qs = make_project(root, queries, server.base_url, concurrency)
        for q in qs:
            i = int(re.search(r"\d+", q).group())
            answers[q] = Scripted(text=f"Citecast says: {q}.", sources=[f"https://citecast.dev/probe-{i:04}"],
                                  citations=[(f"https://www.citecast.dev/probe-{i:04}/?utm_source=chatgpt.com", "P"),
                                             ("https://other.example.org/x", "O")])
        server.answers.update(answers)
        os.environ.update({"CITECAST_CONFIG": str(root / "citecast.toml"), "OPENAI_API_KEY": "sk-bench",
                           "PERPLEXITY_API_KEY": "pplx-bench"})
        from citecast.settings import load_settings
        from citecast.citations.probe import run_probe

        settings = load_settings()
        assert settings.citations.concurrency == concurrency
        t0 = time.perf_counter()
        result = run_probe(settings)
        wall = time.perf_counter() - t0
    finally:
        if server is not None:
            server.__exit__(None, None, None)
        shutil.rmtree(tmp, ignore_errors=True)
    jobs = queries * ENGINES * 3
    limit = jobs * latency / slots
    return {"queries": queries, "jobs": jobs, "asked": result.asked, "recorded": len(result.recorded),
            "failures": len(result.failures), "cited_pages": len(result.cited_pages), "requests": len(server.requests),
            "max_in_flight": server.max_in_flight, "wall": wall, "limit": limit, "ratio": wall / limit,
            "concurrency": concurrency, "slots": slots, "latency": latency}


def main() -> int:
    import subprocess

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--latency", type=float, default=1.0)
    ap.add_argument("--slots", type=int, default=8)
    ap.add_argument("--concurrency", type=int, default=None, help="[citations] concurrency (default: --slots)")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    conc = args.concurrency or args.slots
    if args.child:
        print("RESULT " + json.dumps(one_trial(args.queries, args.latency, args.slots, conc)))
        return 0
    trials = []
    for _ in range(args.repeat):
        load = os.getloadavg()[0]
        proc = subprocess.run([sys.executable, __file__, "--child", "--queries", str(args.queries), "--latency",
                               str(args.latency), "--slots", str(args.slots), "--concurrency", str(conc)],
                              capture_output=True, text=True, cwd=REPO)
        line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")), None)
        if proc.returncode or line is None:
            raise SystemExit(f"trial failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
        t = json.loads(line[7:])
        t["load_before"] = load
        trials.append(t)
        if not args.json:
            print(f"trial: {t['wall']:.2f}s / limit {t['limit']:.2f}s = {t['ratio']:.3f}x (load {load:.2f})", flush=True)
    mid = sorted(trials, key=lambda t: t["ratio"])[len(trials) // 2]
    res = {"median": mid, "ratios": [t["ratio"] for t in trials], "median_ratio": statistics.median(t["ratio"] for t in trials),
           "loads": [t["load_before"] for t in trials]}
    if args.json:
        print(json.dumps(res))
    else:
        m = mid
        print(f"{m['queries']} queries x {ENGINES} engines x 3 samples = {m['jobs']} answers; recorded {m['recorded']}, "
              f"failed {m['failures']}, requests {m['requests']}, at most {m['max_in_flight']} in flight; "
              f"pages cited {m['cited_pages']}")
        print(f"probe: {m['wall']:.2f}s = {res['median_ratio']:.3f}x the limit ({m['jobs']} x {m['latency']} s / "
              f"{m['slots']} = {m['limit']:.2f}s), [citations] concurrency {m['concurrency']}; target <= 1.3x")
    ok = res["median_ratio"] <= 1.3 and mid["failures"] == 0 and mid["recorded"] == mid["jobs"]
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
