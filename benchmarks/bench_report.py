"""Benchmark 6: the citation report over a million answers against a bare read of the same rows.

    .venv/bin/python benchmarks/bench_report.py [--answers 1000000] [--pages 500] [--pairs 3] [--json]

A SQLite ledger (migrated by citecast) gets N answers from 3 engines over 52
weeks for P pages in 20 topics; each answer cites 1-4 URLs, some of them ours.
Then, each in its own process (so peak memory is its own), alternately:

- bare: `polars.read_database` of the observations (`ANSWERS_SQL`: every answer with engine,
  surface, topic, query text, time and flags; `CITED_SQL`: every cited URL of kind citation) into
  polars frames, all rows at once, with Python's cyclic garbage collector paused as the report's
  reads pause it (it costs ~35% of reading a million rows), nothing else;
- report: `load_data` (the answers without their query text and surface, `REPORT_ANSWERS_SQL`, and
  the same cited URLs, in 100,000-row batches; the query and excerpt of the answers a table shows;
  the ledger's other tables) + `build_report` (page cells, verdicts with permutation tests,
  survival, every table) + HTML with its SVG charts + CSV files.

ratio = median(report) / median(bare); peak RSS of each from getrusage. Also measured, for reference:
bare-own, the same bare read of exactly the rows the report reads (answers without query text and
surface): the report's ratio to it is what the report does beyond reading its own rows.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

TOPICS = 20
ENGINES = ("openai", "perplexity", "gemini")
START = datetime(2025, 1, 6, tzinfo=timezone.utc)  # a Monday; 52 weeks follow
COHORTS = ("distribution", "links", "control", "both")


def pages(n: int):
    from citecast.citations.model import PageRef

    return [PageRef(f"p{i}", f"https://ex.com/p{i}", (f"https://ex.com/old/p{i}",) if i % 7 == 0 else (),
                    f"topic{i % TOPICS}", COHORTS[(i // TOPICS) % 4], date(2024, 12, 1) + timedelta(days=i % 60),
                    date(2024, 11, 1)) for i in range(n)]


def build(db: Path, n_answers: int, n_pages: int, seed: int = 1) -> None:
    """Write the ledger with plain executemany (generation is not what is measured)."""
    import random
    import sqlite3

    from citecast.ledger.store import Ledger

    Ledger(f"sqlite:///{db}").close()  # the schema, by citecast's own migrations
    rng = random.Random(seed)
    con = sqlite3.connect(db)
    by_topic: dict[int, list[int]] = {}
    for i in range(n_pages):
        by_topic.setdefault(i % TOPICS, []).append(i)
    span = 52 * 7 * 86400
    answers, cited = [], []
    for aid in range(1, n_answers + 1):
        t = rng.randrange(TOPICS)
        at = START + timedelta(seconds=rng.randrange(span))
        answers.append((aid, ENGINES[aid % 3], "", "api", "gpt", f"query {t}-{aid % 25}", f"topic{t}", None, 0,
                        at.strftime("%Y-%m-%d %H:%M:%S.%f"), 1, rng.random() < 0.3, None, None))
        urls: list[str] = []
        for _ in range(rng.randint(1, 4)):
            if rng.random() < 0.35:
                url = f"https://ex.com/p{rng.choice(by_topic[t])}"
            else:
                url = f"https://site{rng.randrange(300)}.org/a/{rng.randrange(50)}"
            if url not in urls:  # a URL once per answer, positions 1, 2, ...: as the ledger records (observation_row)
                urls.append(url)
        cited.extend((aid, "citation", pos, url, url) for pos, url in enumerate(urls, 1))
        if len(answers) >= 50_000:
            _flush(con, answers, cited)
    _flush(con, answers, cited)
    con.commit()
    con.close()


def _flush(con, answers: list, cited: list) -> None:
    con.executemany("INSERT INTO citation_observations (id, engine, engine_kind, surface, model, query, topic, page, "
                    "sample, observed_at, can_cite, brand_mentioned, answer_sha256, run_id) "
                    "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)", answers)
    con.executemany("INSERT INTO cited_urls (observation_id, kind, position, url, normalized_url) VALUES (?,?,?,?,?)",
                    cited)
    answers.clear()
    cited.clear()


def measure(kind: str, db: Path, n_pages: int, out: Path) -> dict:
    import polars as pl
    from sqlalchemy import create_engine

    from citecast.citations.report import build_report, load_data
    from citecast.citations.report.csv import write_csv
    from citecast.citations.report.data import ANSWERS_SQL, CITED_SQL, REPORT_ANSWERS_SQL, collector_paused
    from citecast.citations.report.html import to_html
    from citecast.ledger.store import Ledger

    t0, c0 = time.perf_counter(), time.process_time()
    if kind in ("bare", "bare-own"):
        engine = create_engine(f"sqlite:///{db}")
        with engine.connect() as conn, collector_paused():  # the report's reads pause the collector: so does this
            a = pl.read_database(ANSWERS_SQL if kind == "bare" else REPORT_ANSWERS_SQL, connection=conn)
            c = pl.read_database(CITED_SQL, connection=conn)
        rows = (a.height, c.height)
    else:
        ledger = Ledger(f"sqlite:///{db}")
        data = load_data(ledger, pages(n_pages))
        ledger.close()
        report = build_report(data, now=START + timedelta(days=365))
        out.mkdir(parents=True, exist_ok=True)
        (out / "citations.html").write_text(to_html(report), encoding="utf-8")
        write_csv(report, out / "csv")
        rows = (data.answers.height, data.cited.height)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {"kind": kind, "seconds": seconds, "cpu": cpu, "rows": rows,
            "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def child(kind: str, db: Path, n_pages: int, out: Path) -> dict:
    proc = subprocess.run([sys.executable, __file__, "--measure", kind, "--db", str(db), "--pages", str(n_pages),
                           "--out", str(out)], capture_output=True, text=True, cwd=REPO)
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode or not line:
        raise SystemExit(f"{kind} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return json.loads(line[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--answers", type=int, default=1_000_000)
    ap.add_argument("--pages", type=int, default=500)
    ap.add_argument("--pairs", type=int, default=3, help="alternating bare/report runs")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--measure", choices=["bare", "bare-own", "report"])
    ap.add_argument("--db", type=Path, help="keep the generated ledger here (built when missing)")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.db, args.pages, args.out)))
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        db = args.db or Path(tmp) / "ledger.db"
        t0 = time.perf_counter()
        if not db.exists():  # --db: reuse a ledger built by an earlier run (same --answers and --pages)
            build(db, args.answers, args.pages)
        from citecast.ledger.store import Ledger

        Ledger(f"sqlite:///{db}").close()  # a reused ledger migrated to the current schema before any measurement
        built = time.perf_counter() - t0
        runs: dict[str, list[dict]] = {"bare": [], "report": [], "bare-own": []}
        for _ in range(args.pairs):
            for kind in ("bare", "report", "bare-own"):
                runs[kind].append(child(kind, db, args.pages, Path(tmp) / "out"))
    bare = statistics.median(r["seconds"] for r in runs["bare"])
    report = statistics.median(r["seconds"] for r in runs["report"])
    bare_cpu = statistics.median(r["cpu"] for r in runs["bare"])
    report_cpu = statistics.median(r["cpu"] for r in runs["report"])
    result = {"answers": args.answers, "pages": args.pages, "cited_rows": runs["bare"][0]["rows"][1],
              "bare_s": round(bare, 2), "report_s": round(report, 2), "ratio": round(report / bare, 3),
              "bare_cpu_s": round(bare_cpu, 2), "report_cpu_s": round(report_cpu, 2),
              "cpu_ratio": round(report_cpu / bare_cpu, 3),
              "pair_ratios": [round(r["seconds"] / b["seconds"], 3) for b, r in zip(runs["bare"], runs["report"])],
              "bare_rss_mb": round(max(r["max_rss_mb"] for r in runs["bare"])),
              "report_rss_mb": round(max(r["max_rss_mb"] for r in runs["report"])), "build_s": round(built, 1),
              "bare_own_s": round(statistics.median(r["seconds"] for r in runs["bare-own"]), 2),
              "bare_own_cpu_s": round(statistics.median(r["cpu"] for r in runs["bare-own"]), 2),
              "load": os.getloadavg()[0]}
    result["cpu_ratio_own"] = round(report_cpu / result["bare_own_cpu_s"], 3)
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{args.answers} answers, {result['cited_rows']} cited URLs, {args.pages} pages (ledger built in "
              f"{result['build_s']} s)")
        print(f"bare read: {result['bare_s']} s, {result['bare_rss_mb']} MB; report: {result['report_s']} s, "
              f"{result['report_rss_mb']} MB; ratio: {result['ratio']}x (pairs {result['pair_ratios']})")
        print(f"CPU time: bare {result['bare_cpu_s']} s, report {result['report_cpu_s']} s, "
              f"ratio {result['cpu_ratio']}x; load average {result['load']:.1f}")
        print(f"bare read of the report's own rows (no query text, no surface): {result['bare_own_s']} s, "
              f"CPU {result['bare_own_cpu_s']} s; report / it: CPU {result['cpu_ratio_own']}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
