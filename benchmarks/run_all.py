"""Run every benchmark and write the table into benchmarks/README.md.

    .venv/bin/python benchmarks/run_all.py            # full sizes (about 10 minutes on 2 cores)
    .venv/bin/python benchmarks/run_all.py --quick    # small sizes, a minute or two; README untouched
    .venv/bin/python benchmarks/run_all.py --no-write # full sizes, print only

Each benchmark runs in its own processes and reports ratios measured within
one run, so machine noise cancels as far as it can; the week benchmark is
repeated and its median trial reported. The table goes between the
`<!-- run_all:start -->` and `<!-- run_all:end -->` markers of the README;
other sections (such as "LLM drafting") are left alone.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
README = HERE / "README.md"
START, END = "<!-- run_all:start -->", "<!-- run_all:end -->"


def run(args: list[str], json_out: bool = True):
    proc = subprocess.run([sys.executable, *args], cwd=REPO, capture_output=True, text=True)
    if json_out:
        line = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
        if not line:
            raise SystemExit(f"{args[0]} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
        return json.loads(line[-1])
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{args[0]} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return proc.stdout


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes; does not write the README")
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--repeat", type=int, default=None, help="week trials (default 3, quick 1)")
    args = ap.parse_args()
    q = args.quick
    scan_pages, week_pages, queries = (1000, 60, 20) if q else (10_000, 500, 200)
    repeat = args.repeat or (1 if q else 3)
    rows = []
    t0 = time.perf_counter()
    load0 = os.getloadavg()

    # 1. scan
    out = run(["benchmarks/bench_scan.py", "--pages", str(scan_pages)], json_out=False)
    ratio = float(re.search(r"ratio: ([\d.]+)x", out).group(1))
    bare = re.search(r"bare parse loop: ([\d.]+)s", out).group(1)
    pairs = re.search(r"interleaved pairs: ([\d., ]+)", out).group(1).strip()
    chk = re.search(r"citecast check:\s+([\d.]+)s, (\d+) MB peak", out)
    rows.append((f"1. `citecast check`, {scan_pages:,} pages", f"bare python-frontmatter + markdown-it loop: {bare} s",
                 f"{chk.group(1)} s, {chk.group(2)} MB peak", f"{ratio:.2f}x (<= 1.3x; <= 400 MB; median of pairs {pairs})",
                 f"`bench_scan.py --pages {scan_pages}`"))
    print(out, flush=True)

    # 2 + 3. week and re-run
    w = run(["benchmarks/bench_week.py", "--pages", str(week_pages), "--repeat", str(repeat), "--json"])
    m = w["median"]
    ch = ", ".join(f"{n} {m['calls'][n]} calls x {m['rtt'][n] * 1000:.1f} ms" for n in m["calls"])
    rows.append((f"2. weekly run, {week_pages} pages x 3 channels, LLM 250 ms/8, platforms 50 ms",
                 f"{m['limit']:.1f} s = max(drafting {m['drafting_limit']:.1f} s, 0.25 s + slowest channel: {ch})",
                 f"{m['wall']:.1f} s; {m['statuses']}; LLM calls {m['llm_calls']}, generators {m['generators']}",
                 f"{w['median_ratio']:.2f}x (<= 1.3x; trials {', '.join(f'{r:.2f}' for r in w['ratios'])})",
                 f"`bench_week.py --pages {week_pages} --repeat {repeat}`"))
    rows.append(("3. unchanged re-run of that week",
                 f"`check` over the same library: {w['median_check']:.2f} s",
                 f"{w['median_rerun']:.2f} s; LLM calls {m['rerun_llm_calls']}, posts {m['rerun_posts']}, "
                 f"platform calls {m['rerun_platform_calls']}",
                 f"{w['median_rerun_ratio']:.2f}x (<= 2x)", "same command"))
    print(json.dumps(w)[:2000], flush=True)

    # 4. probe
    p = run(["benchmarks/bench_probe.py", "--queries", str(queries), "--json"])
    pm = p["median"]
    rows.append((f"4. probe, {queries} queries x 2 engines x 3 samples, engines 1 s/8",
                 f"{pm['limit']:.1f} s = {pm['jobs']} x 1 s / 8",
                 f"{pm['wall']:.1f} s; {pm['recorded']} recorded, {pm['failures']} failed",
                 f"{p['median_ratio']:.2f}x (<= 1.3x)", f"`bench_probe.py --queries {queries}`"))
    print(json.dumps(p), flush=True)

    # 5. start-up
    s = run(["benchmarks/bench_startup.py", "--runs", "5" if q else "10", "--json"])
    base, typer_only = s["commands"]["python -c pass"], s["commands"]["import typer"]
    for name in ("citecast --help", "citecast check"):
        e = s["commands"][name]
        heavy = ", ".join(f"{m_} {us / 1000:.0f} ms" for m_, us in e["top"][:4])
        target = (f"own import time {e['own_import_ms']:.0f} ms (<= {s['own_target_ms']} ms)" if name == "citecast check"
                  else "no target")
        rows.append((f"5. `{name}` start-up (shipped content)",
                     f"`python -c pass`: {base['median'] * 1000:.0f} ms wall, {base['cpu'] * 1000:.0f} ms CPU; "
                     f"`import typer`: {typer_only['median'] * 1000:.0f} ms wall, {typer_only['cpu'] * 1000:.0f} ms CPU",
                     f"{e['median'] * 1000:.0f} ms wall, {e['cpu'] * 1000:.0f} ms CPU, imports {e['import_ms']:.0f} ms "
                     f"({e['own_import_ms']:.0f} ms citecast's own); Prefect/SDKs imported: "
                     f"{', '.join(e['heavy_imported']) or 'none'}; heaviest: {heavy}",
                     f"CPU {e['cpu_ratio']:.1f}x pass, {e['cpu_ratio_typer']:.2f}x typer ({target})", "`bench_startup.py`"))
    print(json.dumps(s)[:1500], flush=True)

    machine = (f"{platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} cores; "
               f"load average {load0[0]:.2f} at the start, {os.getloadavg()[0]:.2f} at the end; "
               f"{time.perf_counter() - t0:.0f} s in all")
    table = [START, "", f"Command: `.venv/bin/python benchmarks/run_all.py` ({machine})", "",
             "| workload | limit | measured | ratio (target) | command (in benchmarks/) |", "|---|---|---|---|---|"]
    table += ["| " + " | ".join(c.replace("|", "/") for c in r) + " |" for r in rows]
    table += ["", END]
    text = "\n".join(table)
    print(text)
    if not (q or args.no_write):
        readme = README.read_text(encoding="utf-8") if README.exists() else "# Benchmarks\n"
        if START in readme and END in readme:
            readme = readme[: readme.index(START)] + text + readme[readme.index(END) + len(END):]
        else:
            readme = readme.rstrip("\n") + "\n\n## Results\n\n" + text + "\n"
        README.write_text(readme, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
