"""Start-up: `citecast check` imports what it needs and nothing else, and prints no library warnings.

The time itself is measured by benchmarks/bench_startup.py (a ratio, not a timed test).
"""

from __future__ import annotations

import os
import subprocess
import sys

CHECK = (
    "import sys; from citecast.cli import main; sys.argv=['citecast','check'];\n"
    "try: main()\nexcept SystemExit: pass\n"
    "print('LOADED', sorted({m.split('.')[0] for m in sys.modules}))"
)


def _loaded(project) -> tuple[set[str], str]:
    out = subprocess.run([sys.executable, "-c", CHECK], cwd=project.root, capture_output=True, text=True,
                         env={**os.environ, "CITECAST_CONFIG": str(project.config)}, timeout=120)
    line = next(line for line in out.stdout.splitlines() if line.startswith("LOADED"))
    return set(eval(line.removeprefix("LOADED "))), out.stderr


def test_piped_check_needs_no_rich_no_database_no_pkg_resources(project):
    modules, stderr = _loaded(project)
    assert "twitter_text" in modules and "jinja2" in modules  # it does check the X template
    for heavy in ("rich", "sqlalchemy", "alembic", "pkg_resources", "pydantic_settings", "prefect", "openai"):
        assert heavy not in modules, heavy
    assert stderr == ""  # twitter-text's pkg_resources deprecation warning is gone


def test_twitter_text_loads_without_leaving_a_stand_in_behind():
    code = ("import sys; from citecast.tweet_text import load; t = load();"
            "print(t.parse_tweet('a 😀 example.com ' + 'x' * 10).weightedLength, 'pkg_resources' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.split() == [str(2 + 2 + 1 + 23 + 1 + 10), "False"], out.stderr


def test_every_emoji_twitter_text_knows_is_beyond_ascii():
    """Why an ASCII text needs no emoji pattern (citecast.tweet_text)."""
    from citecast.tweet_text import load

    load()
    real = sys.modules["twitter_text.regexp.emoji"].emoji.real_module()  # the list, parsed by twitter-text
    assert len(real.emoji_list) > 3000
    assert all(not e.emoji.isascii() for e in real.emoji_list)
    assert real.emoji.findall("".join(map(chr, range(128))) * 3) == []


def test_weighted_lengths_match_twitter_text_loaded_the_plain_way():
    texts = ["plain ascii https://citecast.dev/x and example.com", "emoji 😀👍🏽 here", "日本語のテキスト",
             "keycap #️⃣ and © ® ™", "mixed ASCII then é then 👨‍👩‍👧"]
    code = ("import sys, json; from citecast.tweet_text import load; t = load();"
            f"print(json.dumps([t.parse_tweet(x).weightedLength for x in {texts!r}]))")
    plain = ("import sys, json, warnings; warnings.simplefilter('ignore'); import twitter_text as t;"
             f"print(json.dumps([t.parse_tweet(x).weightedLength for x in {texts!r}]))")
    ours = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    theirs = subprocess.run([sys.executable, "-c", plain], capture_output=True, text=True, timeout=60)
    assert ours.stdout == theirs.stdout and ours.stdout.strip(), ours.stderr + theirs.stderr
