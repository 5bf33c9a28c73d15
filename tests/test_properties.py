"""Property tests (hypothesis): front-matter loading, URL normalisation, length counting."""

from __future__ import annotations

import os
import shutil
import tempfile
import tomllib
from datetime import date
from pathlib import Path

import pytest
import tomli_w
import yaml
from hypothesis import HealthCheck, assume, example, given, settings, strategies as st

from tests.conftest import REPO

PROPS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

BODY = """{title} is a page whose first paragraph answers the question directly, in plain sentences.

## Key points

- One point, 42%.
"""


@pytest.fixture(scope="module")
def site():
    """A project folder and its settings, shared by every example (hypothesis runs many per test)."""
    root = Path(tempfile.mkdtemp(prefix="citecast-props-"))
    (root / "content").mkdir()
    shutil.copytree(REPO / "templates", root / "templates")
    shutil.copy(REPO / "citecast.toml", root / "citecast.toml")
    old = os.environ.get("CITECAST_CONFIG")
    os.environ["CITECAST_CONFIG"] = str(root / "citecast.toml")
    from citecast.settings import load_settings

    yield root, load_settings()
    if old is None:
        os.environ.pop("CITECAST_CONFIG", None)
    else:
        os.environ["CITECAST_CONFIG"] = old
    shutil.rmtree(root, ignore_errors=True)


# -- front matter ---------------------------------------------------------------

# Text YAML and TOML can both carry: no surrogates (not encodable as UTF-8) and no NUL.
text = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=60)
dates = st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31))
fields = st.fixed_dictionaries(
    {"title": text, "topic": text, "updated": dates},
    optional={"published": dates, "subreddit": text, "tags": st.lists(text, max_size=4),
              "queries": st.lists(text, max_size=4), "description": text, "priority": st.integers(-5, 100),
              "draft": st.booleans(), "cadence": st.sampled_from(["weekly", "monthly", "once", "yearly"]),
              "cohort": st.sampled_from(["distribution", "links", "both", "control", "other"]),
              "extra": st.dictionaries(st.text(min_size=1, max_size=8), text, max_size=3)},
)


def _load(site, name: str, raw: str):
    from citecast.pages.loading import load_page

    root, settings = site
    path = root / "content" / name
    path.write_text(raw, encoding="utf-8")
    try:
        return load_page(path, settings)
    finally:
        path.unlink()


def _check(page, problems, meta: dict, read: dict) -> None:
    """`read` is what the YAML/TOML library itself reads back (PyYAML folds a lone NEL into a space, say)."""
    if page is None:
        assert problems, "no page and no problem"
        for p in problems:
            assert str(p).strip() and p.message.strip()  # a message a person can read
        return
    # What was written is what was read, as words: markup and runs of white space go (issue 12).
    from citecast.pages.markup import clean_title

    assert page.title == clean_title(read["title"])
    if not any(c in read["title"] for c in "*_`[]<>&{}\\!"):
        assert page.title == " ".join(read["title"].split())
    assert page.updated == meta["updated"]
    if "published" in meta:
        assert page.published == meta["published"]
    assert page.canonical_url.startswith("http")


@PROPS
@given(meta=fields)
@example(meta={"title": "Backlinks vs distribution", "topic": "ai", "updated": date(2026, 2, 22)})
def test_yaml_front_matter_round_trips_or_is_a_problem(site, meta):
    front = yaml.safe_dump(meta, allow_unicode=True, sort_keys=False)
    page, problems = _load(site, "p.md", "---\n" + front + "---\n\n" + BODY.format(title="It"))
    _check(page, problems, meta, yaml.safe_load(front))


@PROPS
@given(meta=fields)
@example(meta={"title": "Backlinks vs distribution", "topic": "ai", "updated": date(2026, 2, 22)})
def test_toml_front_matter_round_trips_or_is_a_problem(site, meta):
    front = tomli_w.dumps(meta)
    page, problems = _load(site, "p.md", "+++\n" + front + "+++\n\n" + BODY.format(title="It"))
    _check(page, problems, meta, tomllib.loads(front))


@PROPS
@given(garbage=st.text(max_size=300))
def test_arbitrary_front_matter_never_crashes(site, garbage):
    page, problems = _load(site, "g.md", "---\n" + garbage + "\n---\n\nBody text.\n")
    assert page is not None or problems


@PROPS
@given(title=text.filter(lambda t: t.strip()), when=dates)
def test_good_pages_load_with_their_title_and_date(site, title, when):
    front = yaml.safe_dump({"title": title, "updated": when}, allow_unicode=True)
    read = yaml.safe_load(front)["title"]
    from citecast.pages.markup import clean_title

    assume(clean_title(read))  # e.g. a lone NEL, which YAML reads as a line break, or only markup
    page, problems = _load(site, "t.md", "---\n" + front + "---\n\n" + BODY.format(title="It"))
    assert page is not None, [str(p) for p in problems]
    assert page.title == clean_title(read)
    assert page.updated == when


# -- URL normalisation --------------------------------------------------------------

label = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True)
hosts = st.builds(lambda parts, tld: ".".join([*parts, tld]), st.lists(label, min_size=1, max_size=3),
                  st.sampled_from(["com", "org", "dev", "co.uk", "io"]))
segment = st.text(st.characters(exclude_categories=("Cs", "Cc"), exclude_characters="/?#%\\ "), min_size=1, max_size=12)
paths = st.lists(segment, max_size=4).map(lambda segs: "/" + "/".join(segs))
params = st.lists(st.tuples(st.from_regex(r"[a-z][a-z0-9]{0,6}", fullmatch=True).filter(
    lambda k: not k.startswith("utm") and k not in {"gclid", "fbclid", "ref", "srsltid"}),
    st.from_regex(r"[a-zA-Z0-9]{0,6}", fullmatch=True)), max_size=3, unique_by=lambda kv: kv[0])
tracking = st.lists(st.tuples(st.sampled_from(["utm_source", "utm_medium", "utm_campaign", "gclid", "fbclid"]),
                              st.from_regex(r"[a-z0-9.]{1,8}", fullmatch=True)), max_size=3)


def _url(scheme, host, path, query, fragment=""):
    from urllib.parse import quote, urlencode

    q = urlencode(query)
    return f"{scheme}://{host}{quote(path, safe='/')}" + (f"?{q}" if q else "") + (f"#{fragment}" if fragment else "")


@PROPS
@given(scheme=st.sampled_from(["http", "https", "HTTPS"]), host=hosts, path=paths, query=params)
def test_normalize_url_is_idempotent(scheme, host, path, query):
    from citecast.citations.model import normalize_url

    key = normalize_url(_url(scheme, host, path, query))
    assert normalize_url(key) == key


@PROPS
@given(host=hosts, path=paths, query=params, noise=tracking, fragment=st.from_regex(r"[a-z0-9-]{1,10}", fullmatch=True),
       www=st.booleans(), slash=st.booleans(), upper=st.booleans(), scheme=st.sampled_from(["http", "https"]))
def test_tracking_fragments_www_and_slash_do_not_change_the_key(host, path, query, noise, fragment, www, slash,
                                                                upper, scheme):
    from citecast.citations.model import normalize_url

    assume(not host.startswith("www."))
    plain = normalize_url(_url("https", host, path, query))
    noisy_host = ("www." if www else "") + (host.upper() if upper else host)
    noisy_path = path + ("/" if slash and not path.endswith("/") else "")
    mixed = list(query) + list(noise)
    assert normalize_url(_url(scheme, noisy_host, noisy_path, mixed, fragment)) == plain


@PROPS
@given(host=hosts, path=paths, query=params)
def test_param_order_does_not_change_the_key(host, path, query):
    from citecast.citations.model import normalize_url

    assert normalize_url(_url("https", host, path, query)) == normalize_url(_url("https", host, path, query[::-1]))


# -- length counting ------------------------------------------------------------------

any_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=400)


@PROPS
@given(any_text)
def test_x_weighted_length_is_twitter_texts(t):
    from twitter_text import parse_tweet

    from citecast.channels.x import weighted_length

    assert weighted_length(t) == parse_tweet(t).weightedLength
    assert weighted_length(t) >= 0


@PROPS
@given(prefix=st.text(st.characters(codec="ascii", exclude_categories=("Cc",)), max_size=100).map(
    lambda s: s.replace("http", "h").replace(".", " ")), host=hosts,
    path=st.lists(st.from_regex(r"[a-z0-9_-]{1,10}", fullmatch=True), max_size=4).map(lambda s: "/" + "/".join(s)))
def test_x_counts_every_link_as_23(prefix, host, path):
    """Links as citecast writes them (twitter-text's URL grammar decides odd endings such as `~`)."""
    from citecast.channels.x import weighted_length

    url = _url("https", host, path, [])
    assert weighted_length(f"{prefix} {url}") == weighted_length(f"{prefix} ") + 23


@PROPS
@given(any_text)
@example("a (b) [c] {d} <e> @f #g *h* _i_ ~j~ | \\ \\\\( ")
def test_linkedin_escaping_round_trips(t):
    from citecast.channels.linkedin import escape_little_text, unescape_little_text

    escaped = escape_little_text(t)
    assert unescape_little_text(escaped) == t
    assert len(escaped) >= len(t)


@PROPS
@given(any_text)
@example("👩‍👩‍👧‍👦 🇬🇧 é")
def test_bluesky_graphemes_never_exceed_code_points(t):
    from citecast.channels.bluesky import graphemes

    assert graphemes(t) <= len(t)
    assert (graphemes(t) == 0) == (t == "")
