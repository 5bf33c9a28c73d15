"""Start-up: `citecast check` imports what it needs and nothing else, and prints no library warnings.

The time itself is measured by benchmarks/bench_startup.py (a ratio, not a timed test).
"""

from __future__ import annotations

import os
import subprocess
import sys

RUN = (
    "import sys; from citecast.cli import main; sys.argv=['citecast', *{args!r}];\n"
    "try: main()\nexcept SystemExit: pass\n"
    "print('LOADED', sorted({{m.split('.')[0] for m in sys.modules}} | {{m for m in sys.modules if 'citecast' in m}}))"
)


def _loaded(project, *args: str) -> tuple[set[str], str]:
    """Top-level packages and citecast modules a command imports, and its stderr."""
    out = subprocess.run([sys.executable, "-c", RUN.format(args=list(args or ["check"]))], cwd=project.root,
                         capture_output=True, text=True, env={**os.environ, "CITECAST_CONFIG": str(project.config)},
                         timeout=120)
    line = next(line for line in out.stdout.splitlines() if line.startswith("LOADED"))
    return set(eval(line.removeprefix("LOADED "))), out.stderr


def test_help_imports_no_settings_no_pydantic(project):
    modules, stderr = _loaded(project, "--help")
    assert "citecast.cli.app" in modules and "typer" in modules
    for heavy in ("citecast.settings", "pydantic", "twitter_text", "jinja2", "yaml", "sqlalchemy"):
        assert heavy not in modules, heavy


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


# What each twitter-text load reports: every pattern its modules hold (string and flags), then
# for each text the weighted length and the URLs found, with their indices.
_REPORT = """
import json, re, sys
texts = json.loads(sys.stdin.read())
patterns = sorted((name, attr, value.pattern, value.flags) for name, module in list(sys.modules.items())
                  if name.startswith("twitter_text.") and name != "twitter_text.regexp.emoji"  # built on demand, tested above
                  for attr, value in vars(module).items()
                  if attr != "emoji" and isinstance(getattr(value, "pattern", None), str))
print(json.dumps({"patterns": patterns,
                  "lengths": [t.parse_tweet(x).weightedLength for x in texts],
                  "valid": [t.parse_tweet(x).valid for x in texts],
                  "urls": [t.extract_urls_with_indices(x) for x in texts]}))
"""
OURS = "from citecast.tweet_text import load; t = load()\n" + _REPORT
PLAIN = "import warnings; warnings.simplefilter('ignore'); import twitter_text as t\n" + _REPORT

HOSTILE = ["plain ascii https://citecast.dev/x and example.com", "emoji 😀👍🏽 here", "日本語のテキスト",
           "keycap #️⃣ and © ® ™", "mixed ASCII then é then 👨‍👩‍👧", "", ".", "a.b", "Node.js and Vue.js",
           "example.com", "example.com.", "(example.com)", "example.comx", "EXAMPLE.COM/Path?q=1&r=2#frag",
           "https://t.co/abcdefghij", "https://t.co/" + "a" * 45, "http://twitter.com/これは日本語です。example.com中国語",
           "see https://en.wikipedia.org/wiki/Foo_(bar)), ok", "www.example.co.uk/a/b/c.html!", "user@example.com",
           "@handle example.org #tag $CASH", "-example.com _example.com /example.com", "ｅｘａｍｐｌｅ．ｃｏｍ",
           "пример.рф and xn--e1afmkfd.xn--p1ai and 例え.テスト", "ftp://example.com gopher://x.org",
           "https://example.com:8080/x?y=z", "a" * 300, "日" * 150, "😀" * 150, "https://example.com/" + "p" * 5000,
           "line\r\nbreaks\rand\nmore example.net", "tab\texample.io\u200bzero width", "evil.example/x evil.test",
           "1.2.3.4 and 10.0.0.1:80/x", "bit.ly/abc, goo.gl/xyz; amzn.to/1.", "a.co b.me c.ai d.app e.dev f.new",
           "Ünïcödé.com and café.fr and münchen.de/straße", "https://例え.jp/パス?クエリ=値", "x.comhttps://y.com",
           "\u202eexample.com\u202c", "e\u0301xample.com", "\ufeffhttps://example.com", "a.b.c.d.e.f.g.com"]


def _hostile_corpus(n: int = 1500) -> list[str]:
    """Random mixtures of the pieces that decide twitter-text's counts (seeded: the same texts every run)."""
    import random

    rng = random.Random(11)
    pieces = ["example.com", "https://", "http://", "www.", "/path", "?q=1", "#frag", ".", ",", ")", "(", "!",
              "日本", "한국어", "😀", "👨‍👩‍👧", "é", " ", " ", "\n", "t.co/", "xn--p1ai", ".рф", ".co", ".uk", ":80",
              "@", "_", "-", "~", "'", '"', "a", "Z9", ".museum", ".onion", ".example", "\u200b", "ｃｏｍ", "。"]
    return [''.join(rng.choice(pieces) for _ in range(rng.randint(1, 30))) for _ in range(n)]


def test_twitter_text_loaded_lazily_counts_exactly_as_loaded_the_plain_way():
    """Same patterns (string and flags), same weighted lengths and same URLs, in separate processes."""
    import json

    texts = json.dumps(HOSTILE + _hostile_corpus())
    ours = subprocess.run([sys.executable, "-c", OURS], input=texts, capture_output=True, text=True, timeout=300)
    plain = subprocess.run([sys.executable, "-c", PLAIN], input=texts, capture_output=True, text=True, timeout=300)
    assert ours.returncode == 0 and plain.returncode == 0, ours.stderr + plain.stderr
    ours, plain = json.loads(ours.stdout), json.loads(plain.stdout)
    assert len(plain["patterns"]) > 20 and ours["patterns"] == plain["patterns"]
    assert ours["lengths"] == plain["lengths"] and ours["valid"] == plain["valid"]
    assert ours["urls"] == plain["urls"] and sum(map(len, plain["urls"])) > 500


def test_twitter_text_compiles_only_the_patterns_a_text_needs():
    """The TLD lists are never compiled; the URL pattern on the first dot; the ASCII domain on a bare link."""
    code = ("import sys; from citecast.tweet_text import load; t = load(); m = sys.modules\n"
            "def compiled(name): return m['twitter_text.regexp.' + name].__dict__[name]._compiled is not None\n"
            "names = ['valid_gtld', 'valid_cctld', 'valid_domain', 'extract_url', 'valid_ascii_domain']\n"
            "seen = [[compiled(n) for n in names]]\n"
            "for text in ['no dot here', 'https://citecast.dev/a', 'see example.com']:\n"
            "    t.parse_tweet(text); seen.append([compiled(n) for n in names])\n"
            "print(seen)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == str([[False] * 5, [False] * 5, [False, False, False, True, False],
                                      [False, False, False, True, True]]), out.stderr
