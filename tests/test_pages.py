"""Loading pages: front-matter spellings, derived URLs, and clear errors for bad files."""

from __future__ import annotations

from datetime import date

from citecast.pages.loading import load_library, load_page
from tests.conftest import good_page


def test_shipped_content_loads_clean(project):
    lib = load_library(project.settings())
    assert lib.files == 5
    assert [p.severity for p in lib.problems] == []
    assert len(lib.pages) == 5
    for page in lib.pages:
        assert page.canonical_url.startswith("https://citecast.dev/")
        assert page.extract.direct_answer, page.slug
        assert page.extract.key_points, page.slug
        assert page.extract.faq, page.slug
        assert page.queries, page.slug


def test_toml_front_matter_with_hugo_spellings_and_derived_url(project):
    lib = load_library(project.settings())
    geo = next(p for p in lib.pages if p.slug == "generative-engine-optimisation")
    assert geo.canonical_url == "https://citecast.dev/generative-engine-optimisation"
    assert geo.updated == date(2026, 11, 16)  # from Hugo's `lastmod`
    assert geo.published == date(2026, 10, 1)  # from Hugo's `date`
    assert geo.cadence == "biweekly"


def test_jekyll_and_astro_spellings(empty_project):
    p = empty_project
    p.write_page("jekyll.md", "---\ntitle: J\npermalink: /guides/jekyll-page/\nlast_modified_at: 2026-10-01T10:00:00Z\n"
                 "tags: seo, geo\n---\n\nBody text.\n")
    p.write_page("astro.md", "---\ntitle: A\npubDate: 2026-09-01\nupdatedDate: '2026-09-05'\ncanonicalURL: https://other.example/a\n---\n\nBody.\n")
    lib = load_library(p.settings())
    pages = {pg.slug: pg for pg in lib.pages}
    assert pages["jekyll-page"].canonical_url == "https://citecast.dev/guides/jekyll-page/"
    assert pages["jekyll-page"].updated == date(2026, 10, 1)
    assert pages["jekyll-page"].tags == ["seo", "geo"]
    assert pages["jekyll-page"].topic == "seo"  # the first tag when no topic
    assert pages["astro"].published == date(2026, 9, 1)
    assert pages["astro"].updated == date(2026, 9, 5)
    assert pages["astro"].canonical_url == "https://other.example/a"


def test_bom_and_crlf_are_read_as_plain_utf8(empty_project):
    path = empty_project.content / "win.md"
    path.write_bytes(("\ufeff" + good_page("win-page")).replace("\n", "\r\n").encode("utf-8"))
    page, problems = load_page(path, empty_project.settings())
    assert page is not None, problems
    assert page.title == "Win Page"
    assert "\r" not in page.body


def _errors(lib, name):
    return [p for p in lib.problems if p.file.endswith(name) and p.severity == "error"]


def test_each_broken_page_gets_a_clear_error_and_the_good_ones_still_load(empty_project):
    p = empty_project
    p.write_page("good.md", good_page("good"))
    p.write_page("bad-yaml.md", "---\ntitle: Broken\ntopic: [unclosed\nslug: x\n---\n\nBody\n")
    p.write_page("no-title.md", "---\ntopic: t\n---\n\nBody here.\n")
    p.write_page("relative-url.md", "---\ntitle: R\ncanonical_url: /relative/path\n---\n\nBody here.\n")
    p.write_page("dupe-a.md", good_page("same-slug", "A"))
    p.write_page("dupe-b.md", good_page("same-slug", "B"))
    (p.content / "latin1.md").write_bytes("---\ntitle: Caf\xe9\n---\n\nCaf\xe9 body.\n".encode("latin-1"))
    p.write_page("empty-body.md", "---\ntitle: Empty\n---\n\n   \n")
    p.write_page("bad-cadence.md", "---\ntitle: C\ncadence: daily\nchannels: [x, myspace]\n---\n\nBody.\n")
    p.write_page("bad-date.md", "---\ntitle: D\nupdated: last tuesday\n---\n\nBody.\n")
    p.write_page("templates.md", good_page("templated").replace("Yes, in most", "{{ config }} {% for x in y %} Yes, in most"))

    lib = load_library(p.settings())
    assert sorted(pg.slug for pg in lib.pages) == ["good", "same-slug", "templated"]

    (yaml_err,) = _errors(lib, "bad-yaml.md")
    assert "not valid YAML" in yaml_err.message and yaml_err.line is not None and yaml_err.fix
    (no_title,) = _errors(lib, "no-title.md")
    assert no_title.field == "title" and "required" in no_title.message
    (rel,) = _errors(lib, "relative-url.md")
    assert rel.field == "canonical_url" and "absolute" in rel.message and rel.line == 3
    (dupe,) = _errors(lib, "dupe-b.md")
    assert dupe.field == "slug" and "dupe-a.md" in dupe.message
    (latin,) = _errors(lib, "latin1.md")
    assert "UTF-8" in latin.message and "re-save" in latin.fix
    (empty,) = _errors(lib, "empty-body.md")
    assert "no body" in empty.message
    cadence = {e.field: e for e in _errors(lib, "bad-cadence.md")}
    assert set(cadence) == {"cadence", "channels"} and "myspace" in cadence["channels"].message
    (bad_date,) = _errors(lib, "bad-date.md")
    assert bad_date.field == "updated" and "YYYY-MM-DD" in bad_date.fix
    for problem in lib.errors:
        assert problem.fix, problem  # every error says how to fix it


def test_weak_pages_are_warned_about(empty_project):
    empty_project.write_page("weak.md", "---\ntitle: Weak\n---\n\n## Intro\n\nSome words without evidence.\n")
    lib = load_library(empty_project.settings())
    assert len(lib.pages) == 1
    messages = " ".join(w.message for w in lib.warnings)
    for expected in ("no direct answer", "no evidence", "no FAQ", "words"):
        assert expected in messages


def test_canonical_url_change_after_distribution_is_an_error_until_declared(empty_project):
    p = empty_project
    p.write_page("moved.md", good_page("moved").replace("topic: testing", "topic: testing\ncanonical_url: https://citecast.dev/new-home"))
    distributed = {"moved": {"https://citecast.dev/moved"}}
    lib = load_library(p.settings(), distributed)
    assert lib.pages == []
    (err,) = lib.errors
    assert err.field == "canonical_url" and "previous_urls" in err.fix

    p.write_page("moved.md", good_page("moved").replace(
        "topic: testing", "topic: testing\ncanonical_url: https://citecast.dev/new-home\nprevious_urls: [/moved]"))
    lib = load_library(p.settings(), distributed)
    assert [pg.slug for pg in lib.pages] == ["moved"]
    assert lib.pages[0].previous_urls == ["https://citecast.dev/moved"]


def test_content_hash_ignores_bookkeeping_but_not_text(empty_project):
    p = empty_project
    path = p.write_page("h.md", good_page("h"))
    first = load_page(path, p.settings())[0].content_hash
    p.write_page("h.md", good_page("h").replace("topic: testing", "topic: testing\npriority: 1"))
    assert load_page(path, p.settings())[0].content_hash == first
    p.write_page("h.md", good_page("h").replace("most of the cases", "all of the cases"))
    assert load_page(path, p.settings())[0].content_hash != first


def test_a_scan_without_text_reads_it_again_when_asked(project):
    kept = {p.slug: p for p in load_library(project.settings()).pages}
    lean = {p.slug: p for p in load_library(project.settings(), keep_text=False).pages}
    assert set(kept) == set(lean)
    for slug, page in lean.items():
        assert page.body == "" and page.extract.body == ""
        assert page.content_hash == kept[slug].content_hash
        assert page.extract.direct_answer == kept[slug].extract.direct_answer
        assert page.extract.plain_text == kept[slug].extract.plain_text != ""


def test_a_pages_field_errors_come_in_line_order(empty_project):
    empty_project.write_page("many.md", "---\ntitle: T\ncohort: distrib\ncadence: daily\nchannels: [x, twitter]\n"
                                        "priority: high\nsubreddit: 'a b'\n---\n\nBody.\n")
    lib = load_library(empty_project.settings())
    found = [(p.line, p.field) for p in lib.errors if p.file.endswith("many.md")]
    assert found == [(3, "cohort"), (4, "cadence"), (5, "channels"), (6, "priority"), (7, "subreddit")]
