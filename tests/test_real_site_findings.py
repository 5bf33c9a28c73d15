"""Reproductions of what trying real sites as a new user found (docs/proof.md, "Real sites").

Each test is written from the generator's documented behaviour, with words of our own.
"""

from __future__ import annotations

import re

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
    p.write_page("403.md", "---\ntitle: Forbidden\npermalink: /404/\n---\n\nNot here either.\n")
    # gohugo.io's docs have a page about 404 templates at /templates/404/: a real page, distributed.
    p.write_page("templates/404.md", good_page("templates-404"))
    p.write_page("_posts/2026-11-02-error-404-explained.md", good_page("error-404-explained"))
    p.write_page("status-404.md", good_page("status-404"))

    lib = load_library(p.settings())

    urls = sorted(pg.canonical_url for pg in lib.pages)
    assert urls == ["https://citecast.dev/2026/11/02/error-404-explained/",  # citecast.toml wins
                    "https://citecast.dev/status-404/", "https://citecast.dev/templates/404/"]
    infos = {pr.file: pr.message for pr in lib.problems if pr.severity == "info"}
    assert "404 page" in infos["content/404.md"] and "404 page" in infos["content/403.md"]


HUGO_MOUNTS = """baseURL = "https://docs.example.org/"
defaultContentLanguage = "en"
[languages.en]
  weight = 1
[module]
  [[module.mounts]]
    source = "assets"
    target = "assets"
  [[module.mounts]]
    source = 'content/en'
    target = 'content'
    [module.mounts.sites.matrix]
      languages = ['en']
"""


def _generator_config_only(p):
    """A new user's citecast.toml: the site's URL comes from the generator's config."""
    p.config.write_text(re.sub(r'(?m)^base_url = .*$', "", p.config.read_text(encoding="utf-8")), encoding="utf-8")


def test_hugo_content_mounted_from_a_subfolder_is_served_from_the_root(empty_project):
    # gohugo.io's own docs: `[[module.mounts]] source = 'content/en', target = 'content'`. A mount
    # replaces the default content folder, so content/en/about/features.md is /about/features/,
    # not /en/about/features/ (667 of 711 pages linked URLs that do not exist).
    p = empty_project
    _generator_config_only(p)
    (p.root / "hugo.toml").write_text(HUGO_MOUNTS, encoding="utf-8")
    p.write_page("en/about/features.md", "---\ntitle: Features\n---\n\nHugo's features, in a few words.\n")
    p.write_page("LICENSE.md", "Not mounted: not a page.\n")

    lib = load_library(p.settings())

    assert [pg.canonical_url for pg in lib.pages] == ["https://docs.example.org/about/features/"]
    assert not [pr for pr in lib.problems if pr.severity == "error"], lib.problems


def test_hugo_mounts_per_language_read_the_default_languages(empty_project):
    p = empty_project
    _generator_config_only(p)
    config = HUGO_MOUNTS.replace("defaultContentLanguage = \"en\"", "defaultContentLanguage = \"de\"")
    config += "  [[module.mounts]]\n    source = 'content/de'\n    target = 'content'\n    lang = 'de'\n"
    (p.root / "hugo.toml").write_text(config, encoding="utf-8")
    p.write_page("de/ueber.md", "---\ntitle: Über\n---\n\nWorte auf Deutsch.\n")

    lib = load_library(p.settings())

    assert [pg.canonical_url for pg in lib.pages] == ["https://docs.example.org/ueber/"]


def test_a_section_named_like_a_build_folder_is_read_only_the_roots_folder_is_not(empty_project):
    # gohugo.io has a `functions/resources/` section (12 pages): it was skipped without a word
    # because Hugo's resource cache is called `resources` too. Only <site root>/resources is Hugo's.
    p = empty_project
    _generator_config_only(p)
    p.config.write_text(p.config.read_text(encoding="utf-8").replace('content = "content"', 'content = "."'),
                        encoding="utf-8")
    (p.root / "hugo.toml").write_text('baseURL = "https://docs.example.org/"\n', encoding="utf-8")
    p.write_page("functions/resources/Get.md", "---\ntitle: resources.Get\n---\n\nReturns a global resource.\n")
    (p.root / "public").mkdir()
    (p.root / "public" / "Get.md").write_text("---\ntitle: built copy\n---\n\nA copy.\n", encoding="utf-8")
    (p.root / "resources" / "_gen").mkdir(parents=True)
    (p.root / "resources" / "_gen" / "cached.md").write_text("---\ntitle: cache\n---\n\nCached.\n", encoding="utf-8")

    lib = load_library(p.settings())

    assert [pg.canonical_url for pg in lib.pages] == ["https://docs.example.org/functions/resources/get/"]
    assert not [pr for pr in lib.problems if "public" in pr.file or "resources/_gen" in pr.file], lib.problems


STARLIGHT_CONFIG = """// @ts-check
import { defineConfig } from 'astro/config';
import starlight from '@astrojs/starlight';

export default defineConfig({
	site: 'https://docs.example.org',
	trailingSlash: 'always',
	integrations: [starlight({ title: 'Docs' })],
});
"""


def test_starlight_docs_are_routed_at_the_root_with_index_as_the_home_page(empty_project):
    # Starlight injects the route for `docs` itself: no src/pages file names it. Its own docs
    # (starlight.astro.build) linked /docs/... for every page, and /index/ for the home page.
    p = empty_project
    _generator_config_only(p)
    p.config.write_text(p.config.read_text(encoding="utf-8").replace('content = "content"', 'content = "src"'),
                        encoding="utf-8")
    (p.root / "astro.config.mjs").write_text(STARLIGHT_CONFIG, encoding="utf-8")
    docs = p.root / "src" / "content" / "docs"
    for rel, title in (("index.mdx", "Welcome"), ("guides/Getting Started.md", "Start"), ("de/index.md", "Willkommen")):
        (docs / rel).parent.mkdir(parents=True, exist_ok=True)
        (docs / rel).write_text(f"---\ntitle: {title}\n---\n\nWords about {title}.\n", encoding="utf-8")

    lib = load_library(p.settings())

    assert sorted(pg.canonical_url for pg in lib.pages) == [
        "https://docs.example.org/",                         # index: Starlight's home page
        "https://docs.example.org/de/",                      # de/index: Astro drops /index
        "https://docs.example.org/guides/getting-started/",  # github-slugger per segment
    ]


def test_a_title_that_starts_with_a_scheme_word_is_words_a_scheme_payload_is_still_a_link():
    from citecast.distribution.links import find_links

    # gohugo.io's "Data", "File", "JavaScript" pages and Starlight's "Route Data": the offline
    # X post "<title>: the full answer, with sources." was refused as carrying a link, every week.
    for prose in ("Data: the full answer, with sources.", "Route Data: the full answer", "File: what it returns",
                  "JavaScript: the full answer", "Tel: call us"):
        assert find_links(prose) == [], prose
    for payload in ("javascript:alert(1)", "javascript: alert(1)", "JavaScript :alert(1)", "data:text/html,x",
                    "data: text/html;base64,PHNjcmlwdD4=", "mailto: a@evil.com", "file:///etc/passwd"):
        assert find_links(payload), payload


def test_astro_route_found_through_a_helper_and_a_collection_without_a_route_is_not_posted(empty_project):
    # astro-theme-cactus: `posts/[...slug].astro` calls getAllPosts() from "@/data/post", which calls
    # getCollection("post"); its `tag` entries are intros shown on /tags/<tag>/, no page of their own.
    # Posted as /post/<id>/ and /tag/<id>/: neither is served.
    p = empty_project
    _generator_config_only(p)
    p.config.write_text(p.config.read_text(encoding="utf-8").replace('content = "content"', 'content = "."'),
                        encoding="utf-8")
    files = {
        "astro.config.mjs": "import { defineConfig } from 'astro/config';\n"
                            "export default defineConfig({\n  site: 'https://blog.example.org',\n});\n",
        "src/content.config.ts": 'import { glob } from "astro/loaders";\n'
                                 'const post = defineCollection({ loader: glob({ base: "./content/posts", '
                                 'pattern: "**/*.md" }) });\n'
                                 'const tag = defineCollection({ loader: glob({ base: "./content/tags", '
                                 'pattern: "**/*.md" }) });\nexport const collections = { post, tag };\n',
        "src/data/post.ts": 'import { getCollection } from "astro:content";\n'
                            'export async function getAllPosts() { return getCollection("post"); }\n',
        "src/pages/posts/[...slug].astro": '---\nimport { getAllPosts } from "@/data/post";\n'
                                           'export const getStaticPaths = async () => (await getAllPosts())'
                                           '.map((post) => ({ params: { slug: post.id } }));\n---\n',
        "content/posts/first-post.md": "---\ntitle: First\npublishDate: 04 July 2023\n---\n\nThe first post.\n",
        "content/tags/test.md": "---\ntitle: Test Tag\n---\n\nAn intro shown on the tag's page.\n",
    }
    for rel, text in files.items():
        (p.root / rel).parent.mkdir(parents=True, exist_ok=True)
        (p.root / rel).write_text(text, encoding="utf-8")

    lib = load_library(p.settings())

    assert [pg.canonical_url for pg in lib.pages] == ["https://blog.example.org/posts/first-post/"]
    infos = {pr.file: pr.message for pr in lib.problems if pr.severity == "info"}
    assert "no page in src/pages renders the `tag` collection" in infos["content/tags/test.md"]


def test_a_title_made_only_of_link_like_words_still_gives_a_reddit_post(empty_project):
    # gohugo.io's function pages are titled "time.Now", "collections.Group", "css.Build": each is a
    # domain on a TLD X links, so the offline generator removed it and Reddit refused a post with no
    # title ("title is missing"), every week.
    from typer.testing import CliRunner

    from citecast.cli.app import app

    p = empty_project
    p.write_page("now.md", "---\ntitle: time.Now\ndescription: Returns the current local time.\n"
                 "updated: 2026-11-02\n---\n\nReturns the current local time, as a time.Time value.\n")
    res = CliRunner().invoke(app, ["run", "--local", "--dry-run", "--week", "2026-W49", "--channel", "reddit"])

    assert res.exit_code == 0, res.output
    [post] = p.sent()
    assert post["title"] == "Returns the current local time."
    assert "time.Now" not in post["title"]


def test_directive_asides_and_blockquote_alerts_leave_their_words_not_their_markers():
    # Starlight's `:::tip[Add your own!]` asides reached 105 posts as ":::tip[...] ... :::";
    # gohugo.io's `> [!NOTE]` alerts reached 117 posts as "[!NOTE] ...".
    aside = ":::tip[Add your own!]\nHave you made something for the docs? Open a PR.\n:::\n\n" \
            "::::note{.wide}\nNested words.\n::::\n\nAfter.\n\n```md\n:::caution\nshown as code\n:::\n```\n"
    text = clean_body(aside, "plain", mdx=True)
    assert ":::" not in text.split("```")[0] and "::::" not in text
    assert "Add your own!" in text and "Have you made something for the docs? Open a PR." in text
    assert "Nested words." in text and ":::caution\nshown as code\n:::" in text  # code stays as written

    alert = "> [!NOTE]\n> You can also configure cascading behavior.\n\n>[!warning]- Folded\n> Careful.\n\n" \
            "A [!link] in prose is not an alert.\n"
    text = clean_body(alert, "hugo")
    assert "[!NOTE]" not in text and "[!warning]" not in text
    assert "> You can also configure cascading behavior." in text and "Folded" in text
    assert "A [!link] in prose is not an alert." in text


def test_a_generator_site_without_a_known_url_posts_nothing(empty_project):
    # astro-theme-cactus and Starlight's docs compute `site` in code (`site: siteConfig.url`): with
    # nothing but the generator's config, every post linked https://example.com/... . Now `check`
    # reports an error naming the fix and `run` distributes nothing.
    from typer.testing import CliRunner

    from citecast.cli.app import app

    p = empty_project
    _generator_config_only(p)
    p.config.write_text(p.config.read_text(encoding="utf-8").replace('content = "content"', 'content = "."'),
                        encoding="utf-8")
    (p.root / "astro.config.mjs").write_text("import { siteConfig } from './src/site.config';\n"
                                             "export default defineConfig({\n  site: siteConfig.url,\n});\n",
                                             encoding="utf-8")
    (p.root / "src" / "pages").mkdir(parents=True)
    (p.root / "src" / "pages" / "about.md").write_text(good_page("about"), encoding="utf-8")

    lib = load_library(p.settings())
    [problem] = [pr for pr in lib.problems if pr.field == "base_url"]
    assert problem.severity == "error" and "site.base_url in citecast.toml" in problem.fix

    res = CliRunner().invoke(app, ["run", "--local", "--dry-run", "--week", "2026-W49"])
    assert p.sent() == [], res.output
    assert "base URL is not known" in res.output


def test_nothing_but_the_generators_config_reads_the_site_root(empty_project):
    # A new user in a Jekyll site's folder with no `[paths] content`: "content folder not found".
    # The default `content/` is Hugo's folder; a Jekyll or Astro site's pages live at its root.
    import shutil

    p = empty_project
    _generator_config_only(p)
    p.config.write_text(re.sub(r'(?m)^content = "content".*$', "", p.config.read_text(encoding="utf-8")),
                        encoding="utf-8")
    shutil.rmtree(p.content)
    (p.root / "_config.yml").write_text("url: https://blog.example\npermalink: pretty\n", encoding="utf-8")
    (p.root / "_posts").mkdir()
    (p.root / "_posts" / "2026-11-02-hello.md").write_text(good_page("hello"), encoding="utf-8")

    lib = load_library(p.settings())

    assert [pg.canonical_url for pg in lib.pages] == ["https://blog.example/2026/11/02/hello/"]
    assert not lib.errors, lib.problems

    # an explicit setting is kept as written, even when the folder is missing
    p.config.write_text(p.config.read_text(encoding="utf-8").replace("[paths]", '[paths]\ncontent = "content"'),
                        encoding="utf-8")
    assert [pr.message for pr in load_library(p.settings()).errors] == ["content folder not found"]


def test_hugo_config_directory_is_read_with_its_languages(empty_project):
    # Congo's example site: config/_default/config.toml (no baseURL) with languages.ja.toml beside it.
    # Unread, the site was "plain": example.com links, translations clashing on one slug. And
    # `tags/_index.zh-CN.md` (a language it does not configure) was posted at /tags/_index.zh-cn/.
    p = empty_project
    folder = p.root / "config" / "_default"
    folder.mkdir(parents=True)
    (folder / "config.toml").write_text('theme = "congo"\ndefaultContentLanguage = "en"\n', encoding="utf-8")
    (folder / "languages.en.toml").write_text('languageCode = "en-AU"\nweight = 1\n', encoding="utf-8")
    (folder / "languages.ja.toml").write_text('languageCode = "ja"\nweight = 2\n', encoding="utf-8")
    (folder / "permalinks.toml").write_text('samples = "/examples/:slug/"\n', encoding="utf-8")
    for rel in ("docs/installation/index.md", "docs/installation/index.ja.md"):
        p.write_page(rel, "---\ntitle: Page\n---\n\nWords of the page.\n")
    p.write_page("samples/emoji-support.md", "---\ntitle: Emoji\nslug: emoji\n---\n\nWords of the page.\n")
    p.write_page("tags/_index.zh-CN.md", "---\ntitle: 标签\n---\n\nA list page's intro.\n")

    lib = load_library(p.settings())  # citecast.toml gives base_url (the config has none)

    assert lib.site.generator == "hugo"
    assert sorted(pg.canonical_url for pg in lib.pages) == [
        "https://citecast.dev/docs/installation/", "https://citecast.dev/examples/emoji/",
        "https://citecast.dev/ja/docs/installation/"]
    infos = {pr.file: pr.message for pr in lib.problems if pr.severity == "info"}
    assert "list page" in infos["content/tags/_index.zh-CN.md"]
