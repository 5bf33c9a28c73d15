"""Real-site shapes: every fixture page gets the URL its generator builds, or is skipped for its reason.

The fixtures (tests/fixtures/sites/) each have an expected.toml that states,
per file, the URL the generator builds and the documented rule behind it;
these tests hold citecast to it with nothing but the generator's own config
(no [site] section in citecast.toml), as a new user would run it.
"""

from __future__ import annotations

import re
import shutil
import tomllib
from datetime import date
from pathlib import Path

import pytest

from citecast.pages.loading import load_library
from citecast.pages.markup import leftover_markup
from citecast.settings import load_settings

FIXTURES = Path(__file__).parent / "fixtures" / "sites"
CONTENT = {"jekyll": ".", "hugo": "content", "astro": "src"}


def _site(tmp_path: Path, monkeypatch, name: str, extra: str = ""):
    root = tmp_path / name
    shutil.copytree(FIXTURES / name, root)
    (root / "citecast.toml").write_text(f'[paths]\ncontent = "{CONTENT[name]}"\n{extra}', encoding="utf-8")
    monkeypatch.setenv("CITECAST_CONFIG", str(root / "citecast.toml"))
    monkeypatch.chdir(root)
    settings = load_settings()
    return load_library(settings), tomllib.loads((FIXTURES / name / "expected.toml").read_text("utf-8"))


def _outcomes(library, root: Path) -> dict[str, object]:
    found: dict[str, object] = {}
    for page in library.pages:
        found[page.path.relative_to(root).as_posix()] = page
    for problem in library.problems:
        found.setdefault(problem.file, problem)
    return found


def _cases(name: str):
    expected = tomllib.loads((FIXTURES / name / "expected.toml").read_text("utf-8"))
    return [pytest.param(name, f, spec, id=f"{name}:{f}") for f, spec in expected["pages"].items()]


@pytest.mark.parametrize("site,file,spec", _cases("jekyll") + _cases("hugo") + _cases("astro"))
def test_fixture_page(tmp_path, monkeypatch, site, file, spec):
    """The URL (or the skip) for one page, as the rule in expected.toml says."""
    library, _ = _site(tmp_path, monkeypatch, site)
    outcome = _outcomes(library, tmp_path / site).get(file)
    assert outcome is not None, f"{file} was not read at all; rule: {spec['rule']}"
    if "url" in spec:
        assert not hasattr(outcome, "severity"), f"{file}: {outcome}; rule: {spec['rule']}"
        assert outcome.canonical_url == spec["url"], spec["rule"]
        for key in ("title", "published", "updated"):
            if key in spec:
                assert getattr(outcome, key) == spec[key], spec["rule"]
        if "aliases" in spec:
            assert outcome.previous_urls == spec["aliases"], spec["rule"]
    elif "skipped" in spec:
        assert getattr(outcome, "severity", None) == "info", f"{file} should be skipped: {spec['rule']}"
        assert spec["skipped"] in outcome.message, spec["rule"]
    else:
        assert getattr(outcome, "severity", None) == "error", spec["rule"]
        assert spec["error"] in outcome.message, spec["rule"]


@pytest.mark.parametrize("site", ["jekyll", "hugo", "astro"])
def test_fixture_site_words_only(tmp_path, monkeypatch, site):
    """No page of a real-shaped site keeps Liquid, shortcodes, MDX, HTML or entities in its words."""
    library, expected = _site(tmp_path, monkeypatch, site)
    assert library.site.generator == site
    assert library.site.base_url == expected["base"]
    publishable = [f for f, spec in expected["pages"].items() if "url" in spec]
    assert len(library.pages) == len(publishable)
    for page in library.pages:
        quoted = re.findall(r"`([^`\n]+)`", page.path.read_text("utf-8"))  # inline code is shown as written
        for text in (page.title, page.description, page.extract.plain_text, page.extract.direct_answer):
            for code in quoted:
                text = text.replace(code, "")
            assert leftover_markup(text) is None, (page.path.name, text)
        assert not page.body or leftover_markup(_prose(page.body)) is None, page.path.name


def _prose(markdown: str) -> str:
    """Markdown outside code: a fenced sample may show markup as its subject."""
    return re.sub(r"`[^`\n]*`", "", re.sub(r"```.*?```", "", markdown, flags=re.S))


def test_citecast_toml_wins_over_the_generator_config(tmp_path, monkeypatch):
    """site.base_url and site.permalink in citecast.toml override _config.yml."""
    library, _ = _site(tmp_path, monkeypatch, "jekyll",
                       '[site]\nbase_url = "https://notes.example.net"\npermalink = "/:year/:month/:day/:title.html"\n')
    urls = {p.path.name: p.canonical_url for p in library.pages}
    assert urls["2009-06-01-edge-case-many-tags.md"] == "https://notes.example.net/2009/06/01/edge-case-many-tags.html"
    assert urls["about.md"] == "https://notes.example.net/about/"  # its own permalink still wins
    assert library.site.sources["base_url"] == "citecast.toml"


def test_future_true_builds_future_posts(tmp_path, monkeypatch):
    """Jekyll's `future: true` (here from citecast.toml) publishes the 9999-12-31 post."""
    library, _ = _site(tmp_path, monkeypatch, "jekyll", "[site]\nfuture = true\n")
    urls = {p.path.name: p.canonical_url for p in library.pages}
    assert urls["2010-10-25-post-future-date.md"] == "https://fieldnotes.example.org/notes/post/post-future-date/"


def test_skipped_pages_are_information_not_errors(tmp_path, monkeypatch):
    library, expected = _site(tmp_path, monkeypatch, "hugo")
    skipped = {p.file for p in library.skipped}
    assert skipped == {f for f, spec in expected["pages"].items() if "skipped" in spec}
    assert not library.errors


def test_long_title_warns_early_and_social_title_clears_it(tmp_path, monkeypatch):
    library, _ = _site(tmp_path, monkeypatch, "jekyll")
    long_file = "_posts/2021-06-06-edge-case-very-long-title.md"
    warnings = [p for p in library.warnings if p.file == long_file and p.field == "title"]
    assert any("Reddit takes at most 300" in w.message for w in warnings)
    assert any("X post" in w.message for w in warnings)
    path = tmp_path / "jekyll" / long_file
    path.write_text(path.read_text().replace("categories:", "social_title: Very Long Title, Shortened\ncategories:", 1))
    library = load_library(load_settings())
    assert not [p for p in library.warnings if p.file == long_file and p.field in ("title", "social_title")]
    page = next(p for p in library.pages if p.path == path)
    assert page.social_title == "Very Long Title, Shortened"


def test_every_publishable_fixture_page_is_dated_or_undated_as_its_generator_says(tmp_path, monkeypatch):
    """Jekyll takes the date from the file name when the front matter has none."""
    library, _ = _site(tmp_path, monkeypatch, "jekyll")
    page = next(p for p in library.pages if p.path.name == "2009-06-01-edge-case-many-tags.md")
    assert page.published == date(2009, 6, 1)


def test_a_site_without_a_base_url_is_an_error(tmp_path, monkeypatch):
    root = tmp_path / "jekyll"
    shutil.copytree(FIXTURES / "jekyll", root)
    config = root / "_config.yml"
    config.write_text(config.read_text().replace("url: https://fieldnotes.example.org\n", ""))
    (root / "citecast.toml").write_text('[paths]\ncontent = "."\n', encoding="utf-8")
    monkeypatch.setenv("CITECAST_CONFIG", str(root / "citecast.toml"))
    library = load_library(load_settings())
    # An error (was a warning): every link would go to example.com; `run` distributes nothing
    # (tests/test_real_site_findings.py).
    assert any(p.field == "base_url" and "not known" in p.message for p in library.errors)


def test_a_broken_generator_config_is_an_error_naming_the_file(tmp_path, monkeypatch):
    root = tmp_path / "hugo"
    shutil.copytree(FIXTURES / "hugo", root)
    (root / "config.toml").write_text('baseURL = "https://example.org/"\n[permalinks\n', encoding="utf-8")
    (root / "citecast.toml").write_text('[paths]\ncontent = "content"\n', encoding="utf-8")
    monkeypatch.setenv("CITECAST_CONFIG", str(root / "citecast.toml"))
    library = load_library(load_settings())
    assert any("config.toml" in p.message and "TOML" in p.message for p in library.errors)


def test_citecast_toml_rules_win_over_collection_permalinks_in_config_yml(tmp_path, monkeypatch):
    """_config.yml's collections.posts.permalink and a collection's own rule lose to citecast.toml's."""
    root = tmp_path / "jekyll"
    shutil.copytree(FIXTURES / "jekyll", root)
    config = root / "_config.yml"
    config.write_text(config.read_text().replace("collections:\n", "collections:\n  posts:\n    permalink: /news/:title/\n"))
    (root / "citecast.toml").write_text('[paths]\ncontent = "."\n', encoding="utf-8")
    monkeypatch.setenv("CITECAST_CONFIG", str(root / "citecast.toml"))
    urls = {p.path.name: p.canonical_url for p in load_library(load_settings()).pages}
    assert urls["2019-04-04-category-singular.md"] == "https://fieldnotes.example.org/notes/news/category-singular/"
    (root / "citecast.toml").write_text('[paths]\ncontent = "."\n[site]\npermalink = "/:year/:title/"\n'
                                        'permalinks = { recipes = "/cook/:name/" }\n', encoding="utf-8")
    library = load_library(load_settings())
    urls = {p.path.name: p.canonical_url for p in library.pages}
    assert urls["2019-04-04-category-singular.md"] == "https://fieldnotes.example.org/notes/2019/category-singular/"
    assert urls["chocolate-chip-cookies.md"] == "https://fieldnotes.example.org/notes/cook/chocolate-chip-cookies/"
    page = next(p for p in library.pages if p.path.name == "2009-09-05-edge-case-no-yaml-title.md")
    assert page.tags == ["edge", "case", "layout"]  # a tags string is split on spaces, as Jekyll does


@pytest.mark.parametrize("site", ["jekyll", "hugo", "astro"])
def test_a_new_users_week_on_each_site(tmp_path, monkeypatch, site):
    """Nothing but the generator's config: every publishable page goes out, linking the URL the site
    serves, in words only; nothing the generator does not publish is posted."""
    import json

    from citecast.distribution.run import run_week

    monkeypatch.setenv("CITECAST_DISTRIBUTION__MAX_PAGES_PER_WEEK", "100")
    library, expected = _site(tmp_path, monkeypatch, site)
    report = run_week(load_settings())
    sent = [json.loads(line) for line in (tmp_path / site / "outbox" / "sent.jsonl").read_text("utf-8").splitlines()]
    served = {spec["url"] for spec in expected["pages"].values() if "url" in spec}
    posted = {post["link"] for post in sent}
    assert posted <= served  # nothing the generator does not publish
    assert len(posted) >= 0.9 * len(served), sorted(served - posted)
    assert report.count("failed", "rejected") == 0
    # Inline code is shown on the page as written (the notice page names `{: .notice}`): words, not markup.
    quoted = {c for f in (FIXTURES / site).rglob("*.md*") for c in re.findall(r"`([^`\n]+)`", f.read_text("utf-8"))}
    for post in sent:
        text = "\n".join(post["parts"]) + "\n" + (post.get("title") or "")
        assert text.count(post["link"]) == 1, post
        text = text.replace(post["link"], "").replace("\\", "")  # LinkedIn escapes braces with "\"
        for code in quoted:
            text = text.replace(code, "")
        assert leftover_markup(text) is None, post


def test_hugo_translations_by_file_name_get_their_language_folder(tmp_path, monkeypatch):
    """https://gohugo.io/content-management/multilingual/#translation-by-file-name"""
    root = tmp_path / "hugo"
    shutil.copytree(FIXTURES / "hugo", root)
    config = root / "config.toml"
    config.write_text(config.read_text() + '\n[languages]\n  [languages.en]\n    weight = 1\n  [languages.fr]\n    weight = 2\n')
    (root / "content" / "about.fr.md").write_text(
        '+++\ntitle = "À propos"\ndate = "2019-02-28"\n+++\n\nCe site est écrit en Markdown.\n', encoding="utf-8")
    (root / "content" / "post" / "leaf-bundle" / "index.fr.md").write_text(
        "---\ntitle: Un paquet\n---\n\nLa traduction du paquet.\n", encoding="utf-8")
    (root / "citecast.toml").write_text('[paths]\ncontent = "content"\n', encoding="utf-8")
    monkeypatch.setenv("CITECAST_CONFIG", str(root / "citecast.toml"))
    urls = {p.path.relative_to(root / "content").as_posix(): p.canonical_url for p in load_library(load_settings()).pages}
    assert urls["about.md"] == "https://example.org/about/"
    assert urls["about.fr.md"] == "https://example.org/fr/about/"
    assert urls["post/leaf-bundle/index.fr.md"] == "https://example.org/fr/post/leaf-bundle/"
    config.write_text(config.read_text().replace('baseURL = ', 'defaultContentLanguageInSubdir = true\nbaseURL = ', 1))
    urls = {p.path.relative_to(root / "content").as_posix(): p.canonical_url for p in load_library(load_settings()).pages}
    assert urls["about.md"] == "https://example.org/en/about/"


def test_hugo_cascade_from_a_section_reaches_its_pages(tmp_path, monkeypatch):
    """`cascade` in a section's _index.md: nearest section wins, the page's own front matter wins over it."""
    root = tmp_path / "hugo"
    shutil.copytree(FIXTURES / "hugo", root)
    (root / "content" / "post" / "_index.md").write_text(
        '+++\ntitle = "Posts"\n[cascade]\n  [cascade.build]\n    render = "never"\n+++\n', encoding="utf-8")
    (root / "content" / "post" / "with-slug.md").write_text(
        "---\ntitle: With Slug\nslug: Custom Slug\nbuild:\n  render: always\n---\n\nRendered after all.\n")
    (root / "citecast.toml").write_text('[paths]\ncontent = "content"\n', encoding="utf-8")
    monkeypatch.setenv("CITECAST_CONFIG", str(root / "citecast.toml"))
    library = load_library(load_settings())
    posted = {p.path.name for p in library.pages}
    assert "rich-content.md" not in posted and "about.md" in posted
    assert "with-slug.md" in posted  # its own build.render wins
    assert any(p.file.endswith("rich-content.md") and "render" in p.message for p in library.skipped)


def test_a_site_root_as_content_does_not_crawl_dependencies_or_build_output(tmp_path, monkeypatch):
    """paths.content = "." on an Astro project: node_modules and dist hold markdown that is not the site's."""
    root = tmp_path / "astro"
    shutil.copytree(FIXTURES / "astro", root)
    for junk in ("node_modules/some-lib/README.md", "dist/blog/first-post/index.md", ".astro/notes.md"):
        (root / junk).parent.mkdir(parents=True, exist_ok=True)
        (root / junk).write_text("# not a page of the site\n", encoding="utf-8")
    (root / "citecast.toml").write_text('[paths]\ncontent = "."\n', encoding="utf-8")
    monkeypatch.setenv("CITECAST_CONFIG", str(root / "citecast.toml"))
    library = load_library(load_settings())
    assert not [p for p in library.problems if "node_modules" in p.file or "dist/" in p.file or ".astro" in p.file]
    assert library.files == 12 and len(library.pages) == 10
