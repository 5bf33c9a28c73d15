"""Every placeholder of each generator, with the URL the generator's own code builds.

Jekyll: lib/jekyll/drops/url_drop.rb, url.rb, configuration.rb (https://jekyllrb.com/docs/permalinks/).
Hugo: resources/page/permalinks.go, common/paths/path.go (https://gohugo.io/configuration/permalinks/).
Astro: content/utils.ts, core/build/generate.ts (https://docs.astro.build/en/guides/routing/).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path, PurePosixPath

import pytest

from citecast.pages import astro, hugo, jekyll

POST = jekyll.classify(PurePosixPath("_posts/2024-03-05-Hello World.md"), {}, ())
META = {"categories": ["Release Notes", "Tech"]}
WHEN = date(2024, 3, 5)


@pytest.mark.parametrize("pattern,url,rule", [
    ("/:categories/:title/", "/release%20notes/tech/Hello-World/", ":categories downcased, '/'-joined, escaped; :title pretty, case kept"),
    ("/:slug/", "/hello-world/", ":slug: default slugify, lowercased"),
    ("/:year/:month/:day/:title.html", "/2024/03/05/Hello-World.html", "zero-padded month and day"),
    ("/:i_month/:i_day/:short_year/:title/", "/3/5/24/Hello-World/", "unpadded month and day, two-digit year"),
    ("/:y_day/:title/", "/065/Hello-World/", "day of the year, three digits"),
    ("/:slugified_categories/:title/", "/release-notes/tech/Hello-World/", "each category slugified"),
    ("pretty", "/release%20notes/tech/2024/03/05/Hello-World/", "built-in pretty"),
    ("date", "/release%20notes/tech/2024/03/05/Hello-World.html", "built-in date (Jekyll's default)"),
    ("ordinal", "/release%20notes/tech/2024/065/Hello-World.html", "built-in ordinal"),
    ("none", "/release%20notes/tech/Hello-World.html", "built-in none"),
    ("/:month_:day/:title/", "/03_05/Hello-World/", "a placeholder followed by '_' (url.rb possible_keys)"),
])
def test_jekyll_post_placeholders(pattern, url, rule):
    assert jekyll.url_path(POST, META, WHEN, pattern, {}) == url, rule


def test_jekyll_collections_pages_and_escaping():
    coll = {"docs": {"output": True, "permalink": "/:collection/:path/"}}
    doc = jekyll.classify(PurePosixPath("_docs/guide/Getting Started.md"), coll, ())
    assert jekyll.url_path(doc, {}, None, "date", coll) == "/docs/guide/Getting%20Started/"
    plain = {"docs": {"output": True}}  # no permalink of its own: /:collection/:path + the site's style
    assert jekyll.url_path(doc, {}, None, "pretty", plain) == "/docs/guide/Getting%20Started/"
    assert jekyll.url_path(doc, {}, None, "date", plain) == "/docs/guide/Getting%20Started.html"
    page = jekyll.classify(PurePosixPath("about/team.md"), {}, ())
    assert jekyll.url_path(page, {}, None, "date", {}) == "/about/team.html"
    assert jekyll.url_path(page, {}, None, "pretty", {}) == "/about/team/"
    index = jekyll.classify(PurePosixPath("about/index.md"), {}, ())
    assert jekyll.url_path(index, {}, None, "pretty", {}) == "/about/"
    assert jekyll.escape_path("a b#c?d[e]") == "a%20b%23c%3Fd%5Be%5D"
    assert jekyll.escape_path("ünï") == "%C3%BCn%C3%AF"
    assert jekyll.slugify("The _config.yml file", "pretty") == "the-_config.yml-file"
    assert jekyll.slugify("The _config.yml file", "pretty", cased=True) == "The-_config.yml-file"
    assert jekyll.slugify("The _config.yml file") == "the-config-yml-file"


def test_jekyll_unknown_placeholder_is_an_error():
    with pytest.raises(ValueError, match=":nope"):
        jekyll.url_path(POST, META, WHEN, "/:nope/:title/", {})


def _entry(rel: str) -> hugo.Entry:
    found = hugo.classify(PurePosixPath(rel), Path("/nonexistent"), False)
    assert isinstance(found, hugo.Entry)
    return found


@pytest.mark.parametrize("pattern,url,rule", [
    ("/:year/:month/:day/:slug/", "/2024/03/05/my-slug/", ":slug is the front-matter slug, urlized"),
    ("/:section/:title/", "/docs/the-big-title/", ":section is the first section; :title urlized"),
    ("/:sections/:filename/", "/docs/guides/setup-notes/", ":sections is the whole section path; :filename the file name"),
    ("/:sections[last]/:contentbasename/", "/guides/setup-notes/", "slice syntax; :contentbasename"),
    ("/:slugorfilename/", "/my-slug/", ":slugorfilename prefers the slug"),
    ("/:monthname/:yearday/:weekday/", "/march/65/2/", "month name (lowercased with the whole link), day of the year, weekday (Sunday = 0)"),
])
def test_hugo_placeholders(pattern, url, rule):
    meta = {"title": "The Big Title", "slug": "My Slug"}
    entry = _entry("docs/guides/Setup Notes.md")
    assert hugo.url_path(entry, meta, WHEN, {"docs": pattern}) == url, rule


def test_hugo_defaults_slug_url_ugly_and_case():
    entry = _entry("docs/guides/Setup Notes.md")
    assert hugo.url_path(entry, {}, WHEN, {}) == "/docs/guides/setup-notes/"
    assert hugo.url_path(entry, {"slug": "Other One"}, WHEN, {}) == "/docs/guides/other-one/"
    assert hugo.url_path(entry, {"url": "/exact/path"}, WHEN, {"docs": "/:slug/"}) == "/exact/path/"
    assert hugo.url_path(entry, {"url": "articles/a.html"}, WHEN, {}) == "/articles/a.html"  # a dot, no slash: a file
    assert hugo.url_path(entry, {"url": "my\\:example"}, WHEN, {}) == "/my:example/"  # escaped colon (0.136+)
    assert hugo.url_path(entry, {}, WHEN, {}, ugly=True) == "/docs/guides/setup-notes.html"
    assert hugo.url_path(entry, {}, WHEN, {}, lower=False) == "/docs/guides/Setup-Notes/"
    assert hugo.urlize("Ça & Là — ok") == "%C3%A7a-l%C3%A0-ok"
    with pytest.raises(ValueError, match=":nope"):
        hugo.url_path(entry, {}, WHEN, {"docs": "/:nope/"})


def test_hugo_aliases_resolve_from_the_page_folder():
    entry = _entry("examples/example-1.md")
    assert hugo.aliases({"aliases": ["/old-url", "old-name", "../old/path"]}, entry) == [
        "/old-url/", "/examples/old-name/", "/old/path/"]


@pytest.mark.parametrize("trailing,fmt,base,url", [
    ("ignore", "directory", "", "/blog/first-post/"),
    ("always", "directory", "", "/blog/first-post/"),
    ("never", "directory", "", "/blog/first-post"),
    ("ignore", "file", "", "/blog/first-post.html"),
    ("ignore", "directory", "/docs", "/docs/blog/first-post/"),
])
def test_astro_route_base_trailing_slash_and_format(trailing, fmt, base, url):
    entry = astro.classify(PurePosixPath("src/content/blog/First Post.md"))
    assert astro.url_path(entry, {}, "/blog/:slug", base, trailing, fmt) == url


def test_astro_ids_and_pages():
    entry = astro.classify(PurePosixPath("src/content/blog/A/Ünïcode Title!.mdx"))
    assert astro.entry_id(entry, {}) == "a/ünïcode-title"
    assert astro.entry_id(entry, {"slug": "Kept As-Is"}) == "Kept As-Is"
    page = astro.classify(PurePosixPath("src/pages/guides/index.md"))
    assert astro.url_path(page, {}, "", "", "ignore", "directory") == "/guides/"
    assert isinstance(astro.classify(PurePosixPath("src/pages/_draft.md")), str)


def test_urls_are_emitted_as_browsers_send_them():
    from citecast.pages.sites import as_sent

    assert as_sent("/blog/ünï code/") == "/blog/%C3%BCn%C3%AF%20code/"
    assert as_sent("/notes/edge%20case/Slug-&-Caps/") == "/notes/edge%20case/Slug-&-Caps/"  # no double escape


def test_jekyll_front_matter_defaults_apply_by_path_and_type_most_specific_wins():
    sets = (
        {"scope": {"path": ""}, "values": {"permalink": "/all/:title/"}},
        {"scope": {"path": "", "type": "posts"}, "values": {"permalink": "/blog/:title/"}},
        {"scope": {"path": "_posts/archive"}, "values": {"permalink": "/old/:title/", "published": False}},
        {"scope": {"path": "_docs", "type": "docs"}, "values": {"permalink": "/manual/:path/"}},
    )
    coll = {"docs": {"output": True}}
    post = jekyll.classify(PurePosixPath("_posts/2024-03-05-hello.md"), {}, ())
    old = jekyll.classify(PurePosixPath("_posts/archive/2010-01-01-old.md"), {}, ())
    doc = jekyll.classify(PurePosixPath("_docs/setup.md"), coll, ())
    page = jekyll.classify(PurePosixPath("about.md"), {}, ())
    assert jekyll.front_matter_defaults(post, sets)["permalink"] == "/blog/:title/"
    assert jekyll.front_matter_defaults(old, sets) == {"permalink": "/old/:title/", "published": False}
    assert jekyll.front_matter_defaults(doc, sets)["permalink"] == "/manual/:path/"
    assert jekyll.front_matter_defaults(page, sets)["permalink"] == "/all/:title/"
    meta = {**jekyll.front_matter_defaults(doc, sets)}
    assert jekyll.url_path(doc, meta, None, "date", coll) == "/manual/setup/"


@pytest.mark.parametrize("rel,style,url", [
    ("_methods/escape-+ #%20[].md", "date", "/methods/escape-+%20%23%2520%5B%5D.html"),  # test_document.rb
    ("_methods/trailing-dots...md", "date", "/methods/trailing-dots.html"),              # test_document.rb
    ("_posts/2018-10-12-trailing-dots...markdown", "date", "/2018/10/12/trailing-dots.html"),  # test_document.rb
    ("_posts/2016-11-26-special-chars-(+).markdown", "pretty", "/2016/11/26/special-chars-(+)/"),  # test_tag_post_url.rb
    ("_posts/2017-2-5-i-dont-like-zeroes.md", "date", "/2017/02/05/i-dont-like-zeroes.html"),  # test_generated_site.rb
    ("trailing-dots...md", "date", "/trailing-dots.html"),                                # test_page.rb
])
def test_jekyll_urls_match_jekylls_own_test_suite(rel, style, url):
    """URLs that Jekyll's own tests (test/*.rb in jekyll/jekyll) assert for files of its test site."""
    coll = {"methods": {"output": True}}
    doc = jekyll.classify(PurePosixPath(rel), coll, ())
    assert jekyll.url_path(doc, {}, doc.file_date, style, coll) == url


@pytest.mark.parametrize("spec,expands_to", [
    ("/:year-:month-:title", "/2012-04-spf13-vim-3.0-release-and-new-website/"),
    ("/:year/:yearday/:month/:monthname/:day/:weekday/:weekdayname/", "/2012/97/04/april/06/5/friday/"),
    ("/:section/", "/blue/"),
    ("/:title/", "/spf13-vim-3.0-release-and-new-website/"),
    ("/:slug/", "/the-slug/"),
    ("/:slugorfilename/", "/the-slug/"),
    ("/:filename/", "/test-page/"),
    ("/:contentbasename/", "/test-page/"),
    ("/special\\::slug/", "/special:the-slug/"),
])
def test_hugo_urls_match_hugos_own_permalink_tests(spec, expands_to):
    """The cases of resources/page/permalinks_test.go (gohugoio/hugo) for a leaf bundle test-page/index.md.

    Hugo's pattern there has no trailing slash in two cases; the page is still
    rendered to .../index.html and served with the slash (pretty URLs), and the
    whole link is lowercased (page_paths.go: MakePathSanitized), so "April" is "april".
    """
    entry = hugo.Entry("page", PurePosixPath("blue/test-page/index.md"), ("blue",), True)
    meta = {"title": "Spf13 Vim 3.0 Release and new website", "slug": "The Slug"}
    assert hugo.url_path(entry, meta, date(2012, 4, 6), {"blue": spec}) == expands_to


def test_astro_collections_found_from_their_glob_loader_base():
    config = """
const blog = defineCollection({
\tloader: glob({ base: './src/data/posts', pattern: '**/*.{md,mdx}' }),
\tschema: z.object({ title: z.string() }),
});
const docs = defineCollection({ loader: glob({ pattern: '**/*.md', base: "src/docs/" }) });
export const collections = { blog, guides: docs };
"""
    bases = astro.collection_bases(config)
    assert bases == {"blog": "src/data/posts", "guides": "src/docs"}
    entry = astro.classify(PurePosixPath("src/data/posts/Hello There.md"), bases)
    assert (entry.collection, astro.entry_id(entry, {})) == ("blog", "hello-there")
    assert astro.classify(PurePosixPath("src/docs/a/b.md"), bases).collection == "guides"
