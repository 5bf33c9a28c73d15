"""Benchmark 6: resolving Gemini's grounding redirect links against their physical limit.

    .venv/bin/python benchmarks/bench_redirects.py [--links 40] [--delay 0.2] [--concurrency 8] [--json]

One Gemini answer carries 10-40 grounding links, each a fresh redirect token, so none is cached
the first time. `RedirectResolver.resolve_all` asks for them `concurrency` at a time (one HEAD
each, the page never fetched) from tests/fakes/gemini.py, whose redirect route answers after
`delay` seconds and serves any number at once, so

    limit = ceil(links / concurrency) x delay

The same run resolves the links one at a time too (concurrency 1), for the ratio against what
the resolver did before, and once more from the cache (no request).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


def run(links: int, delay: float, concurrency: int) -> dict:
    from citecast.citations.engines.redirects import MemoryCache, RedirectResolver
    from tests.fakes.gemini import FakeGemini

    with FakeGemini(redirect_delay=delay) as fake:
        urls = [fake.redirect_prefix + fake.token_for(f"https://site{i}.example.org/page") for i in range(links)]
        out = {}
        for name, workers in (("sequential", 1), ("parallel", concurrency)):
            resolver = RedirectResolver([fake.redirect_prefix], timeout=10 + delay, concurrency=workers,
                                        cache=MemoryCache())
            started = time.perf_counter()
            found, failed = resolver.resolve_all(urls)
            out[name] = {"seconds": time.perf_counter() - started, "resolved": len(found), "failed": len(failed),
                         "requests": resolver.requests}
            if name == "parallel":
                again = time.perf_counter()
                resolver.resolve_all(urls)
                out["cached"] = {"seconds": time.perf_counter() - again, "requests": resolver.requests - links}
            resolver.close()
    limit = math.ceil(links / concurrency) * delay
    out.update(links=links, delay=delay, concurrency=concurrency, limit=limit,
               ratio=out["parallel"]["seconds"] / limit, speedup=out["sequential"]["seconds"] / out["parallel"]["seconds"],
               load=os.getloadavg()[0])
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--links", type=int, default=40)
    ap.add_argument("--delay", type=float, default=0.2)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    r = run(a.links, a.delay, a.concurrency)
    if a.json:
        print(json.dumps(r, indent=2))
        return
    p, s = r["parallel"], r["sequential"]
    print(f"{a.links} links, redirect answers after {a.delay}s, {a.concurrency} at a time (load {r['load']:.2f})")
    print(f"  parallel:   {p['seconds']:.2f}s, {p['resolved']} resolved, {p['requests']} requests; "
          f"limit ceil({a.links}/{a.concurrency}) x {a.delay}s = {r['limit']:.2f}s -> {r['ratio']:.2f}x (target <= 1.3x)")
    print(f"  sequential: {s['seconds']:.2f}s ({r['speedup']:.1f}x slower)")
    print(f"  cached:     {r['cached']['seconds'] * 1000:.1f} ms, {r['cached']['requests']} requests")


if __name__ == "__main__":
    main()
