"""Generate a library of realistic pages for the benchmarks (deterministic)."""

from __future__ import annotations

import random
from pathlib import Path

WORDS = ("answer engines cite pages that state the answer plainly and back it with evidence "
         "distribution puts the canonical page in front of people and crawlers every week "
         "backlinks referring domains anchor text freshness citation rate share visibility").split()


def paragraph(rng: random.Random, n: int) -> str:
    words = [rng.choice(WORDS) for _ in range(n)]
    words[0] = words[0].capitalize()
    return " ".join(words) + f" In {rng.randint(2019, 2026)}, {rng.randint(1, 99)}% of teams agreed."


def page_text(i: int, rng: random.Random) -> str:
    body = [paragraph(rng, 45), "", "## Key points", ""]
    body += [f"- {paragraph(rng, 12)}" for _ in range(4)]
    for s in range(4):
        body += ["", f"## Section {s}", "", paragraph(rng, 120), "",
                 f"See [the source](https://example.org/source/{i}/{s}) for details.", "", paragraph(rng, 80)]
    body += ["", "## FAQ", ""]
    for q in range(3):
        body += [f"### Question {q} about page {i}?", "", paragraph(rng, 40), ""]
    front = (f"---\ntitle: Benchmark page {i}\nslug: bench-{i:05}\ntopic: topic-{i % 12}\n"
             f"cohort: {('distribution', 'both', 'links', 'control')[i % 4]}\nupdated: 2026-{1 + i % 11:02}-{1 + i % 27:02}\n"
             f"priority: {1 + i % 5}\ncadence: weekly\ntags: [bench, t{i % 7}]\n"
             f"queries:\n  - what is benchmark page {i}\n  - how does topic {i % 12} work\n---\n\n")
    return front + "\n".join(body) + "\n"


def write_library(folder: Path, count: int, seed: int = 7) -> Path:
    rng = random.Random(seed)
    content = folder / "content"
    content.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        (content / f"bench-{i:05}.md").write_text(page_text(i, rng), encoding="utf-8")
    return content


JEKYLL_CONFIG = """title: Bench Notes
url: https://bench.example.org
baseurl: /notes
permalink: /:categories/:title/
collections:
  recipes:
    output: true
"""


def jekyll_post(i: int, rng: random.Random) -> str:
    """A post as Jekyll themes write them: categories, Liquid, a kramdown notice, some HTML."""
    text = page_text(i, rng)
    front, body = text[4:].split("\n---\n", 1)
    front = "\n".join(line for line in front.splitlines() if not line.startswith(("slug:", "updated:")))
    front += f"\ncategories: [Edge Case, c{i % 9}]\n"
    if i % 50 == 0:
        front += "published: false\n"
    extra = ('{% include toc %}\n\n'
             '**Note:** built {{ page.date | date: "%c" }} for [the site]({{ "/" | relative_url }}).\n'
             '{: .notice--info}\n\n<div class="notice">\n  <p>A notice in HTML&nbsp;&mdash; kept as text.</p>\n</div>\n')
    return f"---\n{front}---\n\n{extra}{body}"


def write_jekyll_site(folder: Path, count: int, seed: int = 7) -> Path:
    """A Jekyll site: _config.yml and `count` posts in _posts/ named YYYY-MM-DD-slug.md."""
    rng = random.Random(seed)
    site = folder / "site"
    posts = site / "_posts"
    posts.mkdir(parents=True, exist_ok=True)
    (site / "_config.yml").write_text(JEKYLL_CONFIG, encoding="utf-8")
    for i in range(count):
        day = f"20{10 + i % 15}-{1 + i % 12:02}-{1 + i % 28:02}"
        (posts / f"{day}-bench-post-{i:05}.md").write_text(jekyll_post(i, rng), encoding="utf-8")
    return site
