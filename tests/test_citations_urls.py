"""URL normalisation and matching cited URLs to pages (canonical and previous URLs)."""

import pytest

from citecast.citations.model import PageIndex, PageRef, mentions_brand, normalize_url, tracked_queries

PAGE = PageRef(slug="bvd", canonical_url="https://example.com/backlinks-vs-distribution",
               previous_urls=("https://example.com/blog/backlinks-old",), topic="ai", queries=("Do backlinks matter?",))


@pytest.mark.parametrize("url", [
    "https://example.com/backlinks-vs-distribution",
    "http://example.com/backlinks-vs-distribution",
    "HTTPS://WWW.Example.COM/backlinks-vs-distribution/",
    "https://example.com:443/backlinks-vs-distribution#faq",
    "http://www.example.com:80/backlinks-vs-distribution?utm_source=chatgpt.com&utm_medium=x",
    "https://example.com/backlinks-vs-distribution?gclid=1&fbclid=2&ref=hn&mc_cid=3&mc_eid=4&srsltid=5",
    "https://example.com/backlinks-vs-distribution/index.html",
    "example.com/backlinks-vs-distribution",
    "https://example.com//backlinks-vs-distribution",
])
def test_same_page(url):
    assert normalize_url(url) == "https://example.com/backlinks-vs-distribution"
    assert PageIndex([PAGE]).match(url) == "bvd"


def test_previous_url_and_unrelated():
    index = PageIndex([PAGE])
    assert index.match("https://www.example.com/blog/backlinks-old/?utm_campaign=x") == "bvd"
    assert index.match("https://example.org/backlinks-vs-distribution") is None
    assert index.match("https://example.com/backlinks-vs-distribution-2") is None
    assert index.match("https://blog.example.com/backlinks-vs-distribution") is None
    assert index.match("not a url") is None


def test_meaningful_query_kept_and_sorted():
    assert normalize_url("https://example.com/p?b=2&a=1&utm_x=3") == "https://example.com/p?a=1&b=2"
    assert normalize_url("https://example.com:8443/p") == "https://example.com:8443/p"
    assert normalize_url("https://example.com/") == "https://example.com"


@pytest.mark.parametrize("bad", ["", "mailto:a@b.c", "ftp://example.com/x", "hello world", "https:///nohost"])
def test_not_urls(bad):
    with pytest.raises(ValueError):
        normalize_url(bad)


def test_idempotent():
    for u in ["HTTP://WWW.A.com/x/?utm_source=1&z=2#f", "https://a.com/%7Efoo/", "https://a.com/caf%C3%A9"]:
        once = normalize_url(u)
        assert normalize_url(once) == once


def test_query_owner_and_brand(tmp_path):
    index = PageIndex([PAGE])
    assert index.page_for_query("do backlinks  matter") == "bvd"
    (tmp_path / "seo.txt").write_text("# comment\nwhat is GEO\n\ndo backlinks matter?\n")
    qs = tracked_queries([PAGE], tmp_path)
    assert [(q.query, q.topic, q.page) for q in qs] == [("Do backlinks matter?", "ai", "bvd"), ("what is GEO", "seo", None)]
    assert mentions_brand("Try CiteCast's loop.", ["citecast"])
    assert not mentions_brand("citecasting is not it", ["citecast"])
