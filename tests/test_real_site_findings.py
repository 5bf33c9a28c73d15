"""Reproductions of what trying real sites as a new user found (docs/proof.md, "Real sites").

Each test is written from the generator's documented behaviour, with words of our own.
"""

from __future__ import annotations

from citecast.pages.loading import load_library
from citecast.pages.markup import clean_body
from tests.conftest import good_page


def test_kramdown_table_of_contents_placeholder_is_not_words():
    # just-the-docs writes `- TOC` / `1. TOC` + `{:toc}` in a dozen pages; kramdown replaces
    # that list with the generated table of contents, so "TOC" was the key point of 36 posts.
    body = ("# Guide\n\n<details markdown=\"block\">\n  <summary>\n    Table of contents\n  </summary>\n"
            "  {: .text-delta }\n- TOC\n{:toc}\n</details>\n\nThe guide starts here.\n\n"
            "1. Contents\n{: toc}\n\n- TOC heading: a list item that stays\n- second item\n")
    text = clean_body(body, "jekyll")
    assert "TOC\n" not in text and "Contents" not in text and "{:" not in text
    assert "The guide starts here." in text
    assert "- TOC heading: a list item that stays" in text and "- second item" in text


def test_the_sites_404_page_is_not_distributed(empty_project):
    # Lanyon (and the GitHub Pages docs) ship `404.md` with `permalink: 404.html`: Jekyll builds it,
    # GitHub Pages serves it for every missing URL. It was posted as "404: Page not found: the full answer".
    p = empty_project
    (p.content / "_config.yml").write_text("url: https://blog.example\npermalink: pretty\n", encoding="utf-8")
    p.write_page("404.md", "---\nlayout: default\ntitle: \"404: Page not found\"\npermalink: 404.html\n---\n\n"
                 "# 404: Page not found\nSorry, we've misplaced that URL. [Head back home]({{ site.url }}).\n")
    p.write_page("about/404.md", "---\ntitle: Not found here\npermalink: /about/404/\n---\n\nNothing here.\n")
    p.write_page("_posts/2026-11-02-error-404-explained.md", good_page("error-404-explained"))
    p.write_page("status-404.md", good_page("status-404"))

    lib = load_library(p.settings())

    urls = sorted(pg.canonical_url for pg in lib.pages)
    assert urls == ["https://citecast.dev/2026/11/02/error-404-explained/",  # citecast.toml wins
                    "https://citecast.dev/status-404/"]
    infos = {pr.file: pr.message for pr in lib.problems if pr.severity == "info"}
    assert "404 page" in infos["content/404.md"] and "404 page" in infos["content/about/404.md"]
