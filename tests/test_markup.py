"""Posts carry words: each kind of generator markup is removed, the prose around it kept."""

from __future__ import annotations

from datetime import date

import pytest

from citecast.pages.dates import AmbiguousDate, parse_date
from citecast.pages.markup import clean_body, clean_title, generator_markup, leftover_markup


def test_liquid_tags_expressions_and_comments_go_raw_stays_as_text():
    body = ('{% comment %}secret note{% endcomment %}Built {{ site.time | date: "%Y" }} by us.\n\n'
            '{% include toc %}\nSee {% raw %}{{ page.title }}{% endraw %} in the docs.\n')
    out = clean_body(body, "jekyll")
    assert "secret note" not in out and "site.time" not in out and "include toc" not in out
    assert "Built  by us." in out
    assert "{{ page.title }}" in out  # {% raw %} content is the author's text


def test_liquid_highlight_becomes_a_code_block_and_capture_keeps_its_words():
    body = "{% highlight ruby %}\nputs 1\n{% endhighlight %}\n\n{% capture n %}\n* a point\n{% endcapture %}\n"
    out = clean_body(body, "jekyll")
    assert "```ruby\nputs 1\n```" in out
    assert "* a point" in out and "capture" not in out


def test_hugo_shortcodes_go_paired_ones_keep_their_prose_inline_ones_go_whole():
    body = ("Intro.\n\n{{< youtube ZJthWmvUzzc >}}\n\n{{% notice info %}}Keep this sentence.{{% /notice %}}\n\n"
            "{{< css.inline >}}<style>.x{}</style>{{< /css.inline >}}\n\n{{< highlight go >}}\nx := 1\n{{< /highlight >}}\n")
    out = clean_body(body, "hugo")
    assert "youtube" not in out and "notice" not in out and ".x{}" not in out
    assert "Keep this sentence." in out
    assert "```go\nx := 1\n```" in out


def test_mdx_imports_components_expressions_and_comments_go():
    body = ("import A from '../A.astro';\nimport {\n  B,\n  C,\n} from './parts';\n\n## Heading\n\n"
            "<A server:defer delay={3000}>\n  <div slot=\"fallback\">Fallback</div>\n</A>\n\n<B data={[1]} />\n\n"
            "{/* hidden */}\nMDX mixes prose and {1 + 1} components.\n")
    out = clean_body(body, "astro", mdx=True)
    assert "import" not in out and "Fallback" not in out and "<B" not in out and "hidden" not in out
    assert "## Heading" in out and "MDX mixes prose and  components." in out


def test_html_reduced_to_text_entities_decoded_kramdown_and_footnotes_dropped():
    body = ('<div class="notice">\n  <h4>Message</h4>\n  <p>A&nbsp;basic &amp; plain message.</p>\n</div>\n'
            'A claim.[^1]\n{: .notice--info}\n\n<script>alert(1)</script>\n\n[^1]: The source.\n')
    out = clean_body(body, "jekyll")
    assert "Message" in out and "A basic & plain message." in out
    assert "<" not in out and "{:" not in out and "[^1]" not in out and "alert" not in out
    assert "The source." not in out


def test_markup_in_code_is_left_alone():
    body = "Use `{: .notice}` after a paragraph.\n\n```html\n<div>{: .x}</div>\n```\n"
    out = clean_body(body, "jekyll")
    assert "`{: .notice}`" in out and "<div>{: .x}</div>" in out


def test_plain_sites_keep_template_looking_text():
    """On a plain site "{{ x }}" is the author's text, not a template language of the site."""
    assert "{{ config }}" in clean_body("Write {{ config }} as text.", "plain")


@pytest.mark.parametrize("raw,words", [
    ("Markup: Title *with* **Markdown**", "Markup: Title with Markdown"),
    ("Special&nbsp;&mdash;&nbsp;Characters", "Special — Characters"),
    ("A <em>real</em> [link](https://x.example) `code`", "A real link code"),
    ("  spaced\n\tout  ", "spaced out"),
])
def test_titles_become_words(raw, words):
    assert clean_title(raw, "jekyll") == words


def test_leftovers_are_found():
    assert leftover_markup("ok words") is None
    assert leftover_markup("a {% include x %}")[0] == "Liquid"
    assert generator_markup("x {: .notice} &nbsp; AT&T; and {{< y >}}") == ["{: .notice}", "&nbsp;", "{{< y >}}"]


@pytest.mark.parametrize("text,expected", [
    ("Jul 08 2022", date(2022, 7, 8)),             # Astro starter
    ("July 8, 2022", date(2022, 7, 8)),
    ("2022-07-08T10:00:00.000Z", date(2022, 7, 8)),
    ("Tue, 14 Mar 2023 09:30:00 GMT", date(2023, 3, 14)),  # RFC 2822
    ("2025-01-29 18:15:32 +0530", date(2025, 1, 29)),      # Jekyll
    ("2022/07/08", date(2022, 7, 8)),
    ("10/13/2026", date(2026, 10, 13)),           # month first, as JavaScript reads it
    ("31/12/2026", None),                          # JavaScript cannot read it
    ("soon", None),
])
def test_dates_as_the_generators_read_them(text, expected):
    assert parse_date(text) == expected


def test_ambiguous_date_names_both_readings():
    with pytest.raises(AmbiguousDate) as exc:
        parse_date("10/05/2026")
    assert "05 October 2026" in str(exc.value) and "10 May 2026" in str(exc.value)


def test_post_titles_use_social_title_or_are_shortened_at_a_word():
    from types import SimpleNamespace

    from twitter_text import parse_tweet

    from citecast.pages.limits import post_title

    long = "Edge Case: Very Long Title " + "lorem ipsum dolor sit amet " * 20
    page = SimpleNamespace(title=long.strip(), social_title="")
    reddit = post_title(page, "reddit")
    assert len(reddit) <= 300 and reddit.endswith("…") and long.startswith(reddit[:-1])
    assert parse_tweet(post_title(page, "x")).weightedLength <= 200
    assert post_title(SimpleNamespace(title=long, social_title="Short one"), "reddit") == "Short one"
    assert post_title(SimpleNamespace(title="Fits", social_title=""), "x") == "Fits"


@pytest.mark.parametrize("leftover", ["{{< youtube ZJthWmvUzzc >}}", "{{% notice %}}", "{: .notice--info}",
                                      "{% include toc %}", "import Chart from './Chart.astro'", "&nbsp;", "&#8220;",
                                      "<ServerIsland server:defer />"])
def test_the_validator_rejects_drafts_that_carry_generator_markup(tmp_path, leftover):
    from citecast import channels as registry
    from citecast.distribution.validation import draft_problems
    from citecast.posts import Draft

    link = "https://example.org/post/rich-content/"
    channel = registry.resolve("linkedin", {}, tmp_path, dry_run=True).channel
    clean = Draft("linkedin", (f"Shortcodes embed rich content.\n\n{link}",), link)
    assert draft_problems(clean, channel, "Shortcodes embed rich content.") == []
    dirty = Draft("linkedin", (f"Shortcodes embed rich content.\n{leftover}\n\n{link}",), link)
    assert draft_problems(dirty, channel, "Shortcodes embed rich content."), leftover
