"""Benchmarks 2 and 3: the weekly run against its physical limit, and an unchanged re-run.

    .venv/bin/python benchmarks/bench_week.py [--pages 500] [--repeat 3] [--json]

Benchmark 2. `citecast.distribution.run.run_week` over N due pages x 3 channels (x,
linkedin, reddit): the LLM drafter against the fake OpenAI server
(tests/fakes/openai_chat.py: +250 ms per request, 8 at once, llm.concurrency 8)
and the LIVE adapters against the fake platforms (tests/fakes/platforms.py,
+50 ms per request), wired through credentials in the environment and
CITECAST_CHANNELS__<NAME>__<OPTION> exactly as tests/test_exactly_once_platforms.py
does. Everything runs over real HTTP on 127.0.0.1; the fakes run in a process
of their own, so their CPU (OAuth signature checks, JSON) is not charged to
citecast, as a real platform's would not be.

The physical limit. Posting is sequential within a channel (pacing) and the
channels run side by side; drafting overlaps posting. So the run cannot be
shorter than either

    drafting:  pages x 0.25 s / 8                     (the LLM server's throughput)
    a channel: first draft (0.25 s) + calls_c x rtt_c (its calls one after another)

where calls_c counts every HTTP request channel c's fake received in the run
(an X post is a thread: one call per part; Reddit adds its token call) and
rtt_c is the measured round trip of one request to that fake, its 50 ms
included (median of 20 bare requests). limit = max(drafting, max over c).

Benchmark 3. The same week again on the same library: the fakes must see no
LLM request and no post, and the wall time is compared with `check_all` (what
`citecast check` runs, benchmark 1's workload) over the same library in the
same process: target <= 2x.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

CHANNELS = ("x", "linkedin", "reddit")
WEEK = "2026-W10"


def make_project(root: Path, pages: int) -> Path:
    """A project with `pages` distribution pages of benchmark 1's realistic size, all due on 3 channels."""
    from benchmarks.library import write_library

    write_library(root, pages)
    for path in (root / "content").glob("*.md"):
        text = path.read_text(encoding="utf-8")
        text = re.sub(r"^cohort: .*$", "cohort: distribution\nchannels: [x, linkedin, reddit]\nsubreddit: SEO",
                      text, count=1, flags=re.M)
        path.write_text(text, encoding="utf-8")
    shutil.copytree(REPO / "templates", root / "templates")
    shutil.copy(REPO / "citecast.toml", root / "citecast.toml")
    return root


def add_latency(fake, seconds: float):
    """Every request to `fake` waits `seconds` before it is handled (as a platform's network and work would)."""
    inner = fake._dispatch

    def slow(req):
        time.sleep(seconds)
        return inner(req)

    fake._dispatch = slow
    return fake


def round_trip(url: str, n: int = 20) -> float:
    """Median seconds for one bare HTTP request to a fake (a new connection each, as HTTP/1.0 does)."""
    parts = urlsplit(url)
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
        conn.request("GET", "/__latency_probe__")
        conn.getresponse().read()
        conn.close()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def clean_env() -> None:
    for name in list(os.environ):
        if name.startswith(("CITECAST_", "OPENAI_")):
            del os.environ[name]


def serve_fakes(llm_latency: float, llm_slots: int, platform_latency: float) -> None:
    """Run the fakes in this process (their CPU is the platforms', not citecast's) and answer on stdin.

    Prints `READY {urls}`; then `stats` prints `STATS {counts}` and `quit` stops.
    """
    from tests.fakes.openai_chat import FakeChatServer
    from tests.fakes.platforms import FAKES

    llm = FakeChatServer(latency=llm_latency, max_concurrent=llm_slots).start()
    fakes = {}
    for name in CHANNELS:
        fake = FAKES[name]()
        fake.reject_duplicates = False  # a double post would show up, not be masked
        fakes[name] = add_latency(fake, platform_latency).start()
    print("READY " + json.dumps({"llm": llm.base_url, **{n: f.url for n, f in fakes.items()}}), flush=True)
    for line in sys.stdin:
        cmd = line.strip()
        if cmd == "stats":
            print("STATS " + json.dumps({
                "llm_calls": len(llm.calls), "llm_max_in_flight": llm.max_in_flight,
                "calls": {n: sum(1 for r in f.requests if r.path != "/__latency_probe__") for n, f in fakes.items()},
                "posts": {n: len(f.posts) for n, f in fakes.items()},
            }), flush=True)
        elif cmd == "quit":
            break
    llm.stop()
    for f in fakes.values():
        f.stop()


class Fakes:
    """The fakes in their own process, as real platforms would be."""

    def __init__(self, llm_latency: float, llm_slots: int, platform_latency: float):
        import subprocess

        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--serve-fakes", "--llm-latency", str(llm_latency), "--llm-slots",
             str(llm_slots), "--platform-latency", str(platform_latency)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=REPO)
        line = self.proc.stdout.readline()
        assert line.startswith("READY "), line
        self.urls = json.loads(line[6:])

    def stats(self) -> dict:
        self.proc.stdin.write("stats\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        assert line.startswith("STATS "), line
        return json.loads(line[6:])

    def stop(self) -> None:
        try:
            self.proc.stdin.write("quit\n")
            self.proc.stdin.flush()
            self.proc.wait(timeout=10)
        except Exception:
            self.proc.kill()


def wire(urls: dict) -> None:
    from tests.fakes.platforms import citecast_env

    os.environ.update(citecast_env({name: urls[name] for name in CHANNELS}, timeout=10))
    os.environ.update({"CITECAST_LLM__MODEL": "bench-model", "CITECAST_LLM__BASE_URL": urls["llm"],
                       "CITECAST_LLM__CONCURRENCY": "8", "CITECAST_LLM__TIMEOUT_SECONDS": "30"})


def instrument() -> dict:
    """Per-channel time of each publisher thread: waiting for drafts, platform calls, ledger, render, the rest.

    pyinstrument samples only the thread it starts in, and the publisher threads are where the time goes.
    """
    import threading
    from collections import defaultdict

    import citecast.distribution.run as pipeline
    from citecast.channels.linkedin import LinkedInChannel
    from citecast.channels.reddit import RedditChannel
    from citecast.channels.x import XChannel
    from citecast.ledger.store import Ledger

    times: dict = defaultdict(lambda: defaultdict(float))
    local = threading.local()

    def timed(owner, name, label):
        inner = getattr(owner, name)

        def wrapper(*a, **kw):
            ch = getattr(local, "channel", None)
            t0 = time.perf_counter()
            try:
                return inner(*a, **kw)
            finally:
                if ch:
                    times[ch][label] += time.perf_counter() - t0

        setattr(owner, name, wrapper)

    for cls in (XChannel, LinkedInChannel, RedditChannel):
        timed(cls, "publish", "platform calls (publish)")
        timed(cls, "render", "render")
    for name in ("claim", "finish", "next_seq", "open_events", "count_published_since"):
        timed(Ledger, name, "ledger")
    real = pipeline.publish_all

    def publish_all(plan, ledger, drafted, channel, on_outcome=lambda o: None):
        local.channel = channel

        def waiting():
            it = iter(drafted)
            while True:
                t0 = time.perf_counter()
                try:
                    pd = next(it)
                except StopIteration:
                    times[channel]["waiting for drafts"] += time.perf_counter() - t0
                    return
                times[channel]["waiting for drafts"] += time.perf_counter() - t0
                yield pd

        t0 = time.perf_counter()
        try:
            return real(plan, ledger, waiting(), channel, on_outcome)
        finally:
            times[channel]["total"] += time.perf_counter() - t0

    pipeline.publish_all = publish_all
    return times


def one_trial(pages: int, llm_latency: float, llm_slots: int, platform_latency: float,
              profile: str | None = None, breakdown: bool = False) -> dict:
    clean_env()
    tmp = Path(tempfile.mkdtemp(prefix="citecast-bench-week-"))
    root = make_project(tmp / "site", pages)
    os.environ["CITECAST_CONFIG"] = str(root / "citecast.toml")
    os.environ["CITECAST_DISTRIBUTION__MAX_PAGES_PER_WEEK"] = str(pages)
    fakes = Fakes(llm_latency, llm_slots, platform_latency)
    try:
        wire(fakes.urls)
        rtt = {n: round_trip(fakes.urls[n]) for n in CHANNELS}

        from citecast.distribution.checking import check_all
        from citecast.settings import load_settings
        from citecast.distribution.run import RunOptions, run_week

        # -- benchmark 2: the first run of the week
        settings = load_settings()
        times = instrument() if breakdown else None
        profiler = None
        if profile:
            from pyinstrument import Profiler

            profiler = Profiler(interval=0.002)
            profiler.start()
        t0 = time.perf_counter()
        report = run_week(settings, RunOptions(week=WEEK))
        wall = time.perf_counter() - t0
        if times is not None:
            split = {ch: dict(t) for ch, t in times.items()}
            for t in split.values():
                t["other (outcomes, loop)"] = t["total"] - sum(v for k, v in t.items() if k != "total")
            times.clear()
        if profiler:
            profiler.stop()
            Path(profile).write_text(profiler.output_text(unicode=False, color=False, show_all=False), encoding="utf-8")
        statuses: dict[str, int] = {}
        gens: dict[str, int] = {}
        for o in report.outcomes:
            statuses[o.status] = statuses.get(o.status, 0) + 1
            gens[str(o.generator)] = gens.get(str(o.generator), 0) + 1
        first = fakes.stats()
        calls, posts, llm_calls = first["calls"], first["posts"], first["llm_calls"]
        drafting = pages * llm_latency / llm_slots
        per_channel = {n: llm_latency + calls[n] * rtt[n] for n in CHANNELS}
        limit = max(drafting, *per_channel.values())

        # -- benchmark 3: the same week again, then `check` over the same library
        t1 = time.perf_counter()
        again = run_week(load_settings(), RunOptions(week=WEEK))
        rerun = time.perf_counter() - t1
        second = fakes.stats()
        rerun_llm = second["llm_calls"] - llm_calls
        rerun_posts = sum(second["posts"].values()) - sum(posts.values())
        rerun_calls = sum(second["calls"].values()) - sum(calls.values())
        checks = []
        for _ in range(3):
            t2 = time.perf_counter()
            result = check_all(load_settings())
            checks.append(time.perf_counter() - t2)
        check = statistics.median(checks)
        assert result.pages == pages, (result.pages, result.errors[:3])
    finally:
        fakes.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    again_statuses: dict[str, int] = {}
    for o in again.outcomes:
        again_statuses[o.status] = again_statuses.get(o.status, 0) + 1
    return {
        "pages": pages, "wall": wall, "limit": limit, "ratio": wall / limit, "drafting_limit": drafting,
        "channel_limit": per_channel, "rtt": rtt, "calls": calls, "posts": posts, "llm_calls": llm_calls,
        "llm_max_in_flight": first["llm_max_in_flight"], "statuses": statuses, "generators": gens,
        "rerun": rerun, "rerun_llm_calls": rerun_llm, "rerun_posts": rerun_posts, "rerun_platform_calls": rerun_calls,
        "rerun_statuses": again_statuses, "check": check, "rerun_ratio": rerun / check,
        **({"breakdown": split} if breakdown else {}),
    }


def child_main(args) -> None:
    out = one_trial(args.pages, args.llm_latency, args.llm_slots, args.platform_latency, args.profile,
                    args.breakdown)
    print("RESULT " + json.dumps(out))


def run(pages: int, repeat: int, llm_latency: float = 0.25, llm_slots: int = 8, platform_latency: float = 0.05,
        profile: str | None = None, quiet: bool = False, breakdown: bool = False) -> dict:
    """Each trial in a fresh process and project; the median trial by ratio is reported."""
    import subprocess

    trials = []
    for i in range(repeat):
        cmd = [sys.executable, __file__, "--child", "--pages", str(pages), "--llm-latency", str(llm_latency),
               "--llm-slots", str(llm_slots), "--platform-latency", str(platform_latency)]
        if profile and i == 0:
            cmd += ["--profile", profile]
        if breakdown:
            cmd += ["--breakdown"]
        load = os.getloadavg()[0]
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
        line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")), None)
        if proc.returncode or line is None:
            raise SystemExit(f"trial failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
        t = json.loads(line[len("RESULT "):])
        t["load_before"] = load
        if t["generators"].get("fallback"):  # keep the drafter's log: why pages fell back
            log = Path(tempfile.gettempdir()) / f"citecast-bench-week-trial-{i + 1}.log"
            log.write_text(proc.stderr, encoding="utf-8")
            t["fallback_log"] = str(log)
        trials.append(t)
        if not quiet:
            print(f"trial {i + 1}: week {t['wall']:.2f}s / limit {t['limit']:.2f}s = {t['ratio']:.3f}x; "
                  f"re-run {t['rerun']:.3f}s / check {t['check']:.3f}s = {t['rerun_ratio']:.2f}x; "
                  f"load {load:.2f}", flush=True)
    mid = sorted(trials, key=lambda t: t["ratio"])[len(trials) // 2]
    return {"median": mid, "ratios": [t["ratio"] for t in trials],
            "rerun_ratios": [t["rerun_ratio"] for t in trials],
            "median_ratio": statistics.median(t["ratio"] for t in trials),
            "median_rerun_ratio": statistics.median(t["rerun_ratio"] for t in trials),
            "median_rerun": statistics.median(t["rerun"] for t in trials),
            "median_check": statistics.median(t["check"] for t in trials),
            "loads": [t["load_before"] for t in trials]}


def describe(res: dict) -> str:
    m = res["median"]
    lines = [
        *([f"drafts that fell back: see {m['fallback_log']}"] if m.get("fallback_log") else []),
        f"pages {m['pages']} x channels {len(CHANNELS)}: statuses {m['statuses']}, generators {m['generators']}",
        f"LLM calls {m['llm_calls']} (at most {m['llm_max_in_flight']} in flight); platform calls {m['calls']}; "
        f"posts stored {m['posts']}",
        "round trip per call (ms): " + ", ".join(f"{n} {v * 1000:.1f}" for n, v in m["rtt"].items()),
        f"limit: drafting {m['drafting_limit']:.2f}s; channels " +
        ", ".join(f"{n} {v:.2f}s" for n, v in m["channel_limit"].items()) + f" -> {m['limit']:.2f}s",
        f"week: {m['wall']:.2f}s = {m['ratio']:.3f}x the limit (median of {res['ratios']}) target <= 1.3x",
        f"re-run: {m['rerun']:.3f}s, LLM calls {m['rerun_llm_calls']}, posts {m['rerun_posts']}, platform calls "
        f"{m['rerun_platform_calls']}; check {m['check']:.3f}s; ratio {res['median_rerun_ratio']:.2f}x "
        f"(trials {[round(r, 2) for r in res['rerun_ratios']]}) target <= 2x",
        f"load average before each trial: {[round(x, 2) for x in res['loads']]}",
    ]
    for ch, parts in m.get("breakdown", {}).items():
        lines.append(f"publisher thread {ch}: " + ", ".join(f"{k} {v:.2f}s" for k, v in parts.items()))
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pages", type=int, default=500)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--llm-latency", type=float, default=0.25)
    ap.add_argument("--llm-slots", type=int, default=8)
    ap.add_argument("--platform-latency", type=float, default=0.05)
    ap.add_argument("--profile", help="write a pyinstrument profile of the first trial's week run to this file")
    ap.add_argument("--breakdown", action="store_true",
                    help="time each publisher thread's parts (platform calls, ledger, render, waiting for drafts)")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--serve-fakes", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve_fakes:
        serve_fakes(args.llm_latency, args.llm_slots, args.platform_latency)
        return 0
    if args.child:
        child_main(args)
        return 0
    res = run(args.pages, args.repeat, args.llm_latency, args.llm_slots, args.platform_latency, args.profile,
              quiet=args.json, breakdown=args.breakdown)
    if args.json:
        print(json.dumps(res))
    else:
        print(describe(res))
    m = res["median"]
    ok = (res["median_ratio"] <= 1.3 and res["median_rerun_ratio"] <= 2.0 and m["rerun_llm_calls"] == 0
          and m["rerun_posts"] == 0)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
