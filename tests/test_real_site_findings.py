"""Reproductions of what trying real sites as a new user found (docs/proof.md, "Real sites").

Each test is written from the generator's documented behaviour, with words of our own.
"""

from __future__ import annotations

from citecast.pages.markup import clean_body


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
