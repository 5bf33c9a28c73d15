"""Benchmark 1: `citecast check` over N generated pages against a bare parse loop.

The bare loop only does what any tool must: read each file, split the front
matter with python-frontmatter and parse the body with markdown-it-py. The
ratio is citecast's cost over that floor. Each side runs in its own process so
peak memory (max RSS) is its own.

    .venv/bin/python benchmarks/bench_scan.py --pages 10000
    .venv/bin/python benchmarks/bench_scan.py --pages 10000 --site jekyll

`--site jekyll` scans a Jekyll site (_config.yml, posts in _posts/ with
categories, Liquid, kramdown attribute lists and HTML): citecast then also
detects the generator, builds each post's /:categories/:title/ URL, applies
Jekyll's publishing rules and cleans the markup; the bare loop parses the
same posts.

Pairs of runs are interleaved and the median ratio reported: on a shared
2-core machine a single pair swings by ±0.15.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))


POSTS = {"plain": "*.md", "jekyll": "_posts/*.md"}


def bare(content: Path, site: str = "plain") -> dict:
    import frontmatter
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark")
    start = time.perf_counter()
    n = 0
    for path in sorted(content.glob(POSTS[site])):
        post = frontmatter.loads(path.read_text(encoding="utf-8"))
        md.parse(post.content)
        n += 1
    return {"seconds": time.perf_counter() - start, "pages": n}


def citecast_check(content: Path, site: str = "plain") -> dict:
    os.environ["CITECAST_PATHS__CONTENT"] = str(content)
    os.environ["CITECAST_PATHS__STATE"] = str(content.parent / "state")
    from citecast.distribution.checking import check_all
    from citecast.settings import load_settings

    settings = load_settings()
    start = time.perf_counter()
    result = check_all(settings)
    return {"seconds": time.perf_counter() - start, "pages": result.pages, "errors": len(result.errors)}


def child(kind: str, content: str, site: str) -> None:
    result = (bare if kind == "bare" else citecast_check)(Path(content), site)
    result["max_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


def run_child(kind: str, content: Path, site: str) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", kind, str(content), site], capture_output=True, text=True,
                         cwd=HERE.parent, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pages", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=3, help="pairs of runs, interleaved; the median ratio is reported")
    ap.add_argument("--site", choices=sorted(POSTS), default="plain", help="plain pages or a Jekyll site")
    ap.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(*args.child)
        return
    from benchmarks.library import write_jekyll_site, write_library

    with tempfile.TemporaryDirectory() as tmp:
        content = (write_jekyll_site if args.site == "jekyll" else write_library)(Path(tmp), args.pages)
        size = sum(p.stat().st_size for p in content.glob(POSTS[args.site]))
        run_child("bare", content, args.site)  # warm the page cache for both sides
        pairs = []
        for _ in range(args.repeat):  # interleaved, so a noisy spell hits both sides
            b = run_child("bare", content, args.site)
            c = run_child("check", content, args.site)
            pairs.append((c["seconds"] / b["seconds"], b, c))
    pairs.sort(key=lambda t: t[0])
    ratio, b, c = pairs[len(pairs) // 2]
    print(f"site: {args.site}; pages: {args.pages} ({size / args.pages / 1024:.1f} KiB each)")
    print(f"bare parse loop: {b['seconds']:.2f}s, {b['max_rss_mb']:.0f} MB peak")
    print(f"citecast check:  {c['seconds']:.2f}s, {c['max_rss_mb']:.0f} MB peak, {c['pages']} pages OK, {c['errors']} errors")
    print(f"ratios of {len(pairs)} interleaved pairs: {', '.join(f'{r:.2f}' for r, _, _ in pairs)}")
    print(f"ratio: {ratio:.2f}x (median; target <= 1.3x); peak memory target <= 400 MB")


if __name__ == "__main__":
    main()
