"""Source markup out, words in: what a post may be made of.

A page's markdown carries its generator's template layer (Liquid for Jekyll,
shortcodes for Hugo, imports and JSX for MDX) and, in any dialect, raw HTML,
entities, kramdown attribute lists and footnote markers. None of it may reach
a post: the LLM, the offline generator and the validators see only what
`clean_body` and `clean_title` leave.

Two layers, in the order the generators apply them:
1. the template layer runs over the whole text, code blocks included (Jekyll
   renders Liquid inside fences too, Hugo expands shortcodes there too);
2. the markdown layer (HTML, MDX, kramdown, footnotes) runs outside code only.

The result is still markdown, so headings, lists and paragraphs keep their
meaning for the extractor. Every pass is guarded by a cheap substring test:
on a page without such markup cleaning costs a few `in` checks.
"""

from __future__ import annotations

import html
import html.entities
import re
from typing import Literal

from markdown_it import MarkdownIt

Dialect = Literal["jekyll", "hugo", "astro", "plain"]

# --- Liquid (Jekyll) -------------------------------------------------------
_LIQUID_RAW = re.compile(r"\{%-?\s*raw\s*-?%\}(.*?)\{%-?\s*endraw\s*-?%\}", re.S)
_LIQUID_COMMENT = re.compile(r"\{%-?\s*comment\s*-?%\}.*?\{%-?\s*endcomment\s*-?%\}", re.S)
_LIQUID_HIGHLIGHT = re.compile(r"\{%-?\s*highlight\s+([\w+-]+)[^%]*%\}\n?(.*?)\{%-?\s*endhighlight\s*-?%\}", re.S)
_LIQUID_TAG = re.compile(r"\{%-?.*?-?%\}", re.S)
_LIQUID_OUTPUT = re.compile(r"\{\{.*?\}\}", re.S)
_RAW_MARK = "\x00raw{}\x00"
_RAW_BACK = re.compile(r"\x00raw(\d+)\x00")

# --- Hugo shortcodes -------------------------------------------------------
_SC_COMMENTED = re.compile(r"\{\{([<%])/\*.*?\*/([>%])\}\}", re.S)
_SC_INLINE = re.compile(r"\{\{([<%])\s*([\w-]+)\.inline\b.*?\{\{[<%]\s*/\s*\2\.inline\s*[>%]\}\}", re.S)
_SC_HIGHLIGHT = re.compile(r"\{\{[<%]\s*highlight\s+([\w+-]+)[^>%]*[>%]\}\}\n?(.*?)\{\{[<%]\s*/\s*highlight\s*[>%]\}\}", re.S)
_SC_TAG = re.compile(r"\{\{[<%]-?.*?-?[>%]\}\}", re.S)

# --- MDX -------------------------------------------------------------------
_MDX_ESM_START = re.compile(r"^(?:import|export)[\s{*]")
_MDX_ESM_END = re.compile(r"""(?:\bfrom\s*['"][^'"]*['"]|^import\s*['"][^'"]*['"]|;)\s*;?\s*$""")
_MDX_COMMENT = re.compile(r"\{/\*.*?\*/\}", re.S)
_JSX_ELEMENT = re.compile(r"<([A-Z][\w.]*)\b[^>]*?(?<!/)>.*?</\1\s*>", re.S)
_JSX_SELF_CLOSING = re.compile(r"<[A-Z][\w.]*\b[^>]*/>", re.S)
_JSX_EXPRESSION = re.compile(r"(?<!\\)\{[^{}\n]*\}")

# --- HTML, kramdown, footnotes --------------------------------------------
_HTML_DROP = re.compile(r"<(script|style|iframe|noscript|svg|template)\b.*?</\1\s*>", re.S | re.I)
_HTML_COMMENT = re.compile(r"<!--.*?-->", re.S)
_HTML_BLOCK_TAG = re.compile(r"</?(?:p|div|h[1-6]|table|thead|tbody|tr|ul|ol|li|blockquote|figure|figcaption|section|article|aside|header|footer|dl|dt|dd|pre|br|hr)\b[^>]*>", re.I)
_HTML_TAG = re.compile(r"</?[a-zA-Z][\w:-]*(?:\s[^<>]*)?/?>")
_KRAMDOWN_EXT = re.compile(r"\{::(comment|nomarkdown)\}.*?\{:/(?:\1)?\}", re.S)
_KRAMDOWN_IAL = re.compile(r"\{:[^}\n]*\}")
# kramdown replaces a list followed by `{:toc}` with the generated table of contents
# (https://kramdown.gettalong.org/converter/html.html#toc): its placeholder item ("TOC") is not words.
_KRAMDOWN_TOC = re.compile(r"^[ \t]*(?:[*+-]|\d+\.)[ \t]+[^\n]*\n[ \t]*\{:\s*toc\b[^}\n]*\}[ \t]*$", re.M)
# Container directives (remark-directive: Starlight's and Docusaurus' asides, `:::tip[Label]` ...
# `:::`): the fences go, the label stays as a line of words, the prose inside stays.
_DIRECTIVE_FENCE = re.compile(r"^[ \t]*:{3,}[ \t]*(?:[\w-]+)?(?:\[([^\]\n]*)\])?(?:\{[^}\n]*\})?[ \t]*$", re.M)
# Alerts (GitHub's and Hugo's blockquote alerts, https://gohugo.io/render-hooks/blockquotes/):
# `> [!NOTE]` marks the quote's kind; the quote's words stay.
_ALERT_MARK = re.compile(r"^([ \t]*(?:>[ \t]*)+)\[![A-Za-z]+\][+-]?[ \t]*", re.M)
_FOOTNOTE_DEF = re.compile(r"^\[\^[^\]\n]+\]:.*(?:\n(?:    |\t).*)*", re.M)
_FOOTNOTE_REF = re.compile(r"\[\^[^\]\n]+\]")
_BLANK_RUNS = re.compile(r"\n[ \t]*(?:\n[ \t]*){2,}")
_CODE_SPAN = re.compile(r"(`+).+?(?<!`)\1(?!`)", re.S)
_FENCE = re.compile(r"^( {0,3})(`{3,}|~{3,})", re.M)

_INLINE_MD = MarkdownIt("commonmark")


def clean_body(body: str, dialect: Dialect = "plain", mdx: bool = False) -> str:
    """The page's markdown without template, MDX, HTML or kramdown markup."""
    text = _template_layer(body, dialect)
    return _outside_code(text, lambda part: _markdown_layer(part, mdx))


def clean_title(title: object, dialect: Dialect = "plain") -> str:
    """A title as words: markup, HTML and entities reduced to text, spaces collapsed."""
    text = _template_layer(str(title), dialect)
    text = _markdown_layer(text, mdx=False)
    if any(c in text for c in "*_`[<!\\&"):
        tokens = _INLINE_MD.parseInline(text)
        text = "".join(_inline_text(tok) for tok in tokens)
    return " ".join(html.unescape(text).split())


def _inline_text(token) -> str:
    out = []
    for child in token.children or []:
        if child.type in ("text", "code_inline"):
            out.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            out.append(" ")
    return "".join(out)


def _template_layer(text: str, dialect: Dialect) -> str:
    # Only the site's own template language: on a plain site "{{ x }}" is the author's text.
    if dialect == "jekyll" and ("{%" in text or "{{" in text):
        text = _liquid(text)
    if dialect == "hugo" and ("{{<" in text or "{{%" in text):
        text = _shortcodes(text)
    return text


def _liquid(text: str) -> str:
    raws: list[str] = []

    def keep_raw(m: re.Match) -> str:
        raws.append(m.group(1))
        return _RAW_MARK.format(len(raws) - 1)

    text = _LIQUID_RAW.sub(keep_raw, text)
    text = _LIQUID_COMMENT.sub("", text)
    text = _LIQUID_HIGHLIGHT.sub(lambda m: f"```{m.group(1)}\n{m.group(2).rstrip()}\n```", text)
    text = _LIQUID_TAG.sub("", text)
    text = _LIQUID_OUTPUT.sub("", text)  # {{ page.date | date: "%c" }} and the like: values, not words
    if raws:
        text = _RAW_BACK.sub(lambda m: raws[int(m.group(1))], text)
    return text


def _shortcodes(text: str) -> str:
    text = _SC_COMMENTED.sub("", text)
    text = _SC_INLINE.sub("", text)
    text = _SC_HIGHLIGHT.sub(lambda m: f"```{m.group(1)}\n{m.group(2).rstrip()}\n```", text)
    return _SC_TAG.sub("", text)  # paired shortcodes keep the prose between their tags


def _outside_code(text: str, clean) -> str:
    """Apply `clean` to the text outside fenced code blocks and code spans."""
    if "`" in text:
        clean = _outside_spans(clean)
    if "```" not in text and "~~~" not in text:
        return clean(text)
    parts, pos, fence = [], 0, None
    for m in _FENCE.finditer(text):
        marker = m.group(2)
        if fence is None:
            parts.append(clean(text[pos:m.start()]))
            pos, fence = m.start(), marker
        elif marker[0] == fence[0] and len(marker) >= len(fence):
            end = text.find("\n", m.end())
            end = len(text) if end < 0 else end
            parts.append(text[pos:end])
            pos, fence = end, None
    parts.append(text[pos:] if fence is not None else clean(text[pos:]))
    return "".join(parts)


def _mdx_esm(text: str) -> str:
    """MDX `import`/`export` statements (top level, possibly over several lines) removed."""
    out, in_statement = [], False
    for line in text.split("\n"):
        if in_statement or _MDX_ESM_START.match(line):
            in_statement = not _MDX_ESM_END.search(line) and bool(line.strip())
            continue
        out.append(line)
    return "\n".join(out)


def _outside_spans(clean):
    def apply(text: str) -> str:
        if "`" not in text:
            return clean(text)
        parts, pos = [], 0
        for m in _CODE_SPAN.finditer(text):
            parts += [clean(text[pos:m.start()]), m.group(0)]
            pos = m.end()
        parts.append(clean(text[pos:]))
        return "".join(parts)
    return apply


def _markdown_layer(text: str, mdx: bool) -> str:
    if mdx:
        if "import" in text or "export" in text:
            text = _mdx_esm(text)
        if "{/*" in text:
            text = _MDX_COMMENT.sub("", text)
        if "<" in text:
            text = _JSX_ELEMENT.sub("", text)
            text = _JSX_SELF_CLOSING.sub("", text)
        if "{" in text:
            text = _JSX_EXPRESSION.sub("", text)
    if "<" in text:
        text = _HTML_DROP.sub("", text)
        text = _HTML_COMMENT.sub("", text)
        text = _HTML_BLOCK_TAG.sub("\n\n", text)
        text = _HTML_TAG.sub("", text)
    if ":::" in text:
        text = _DIRECTIVE_FENCE.sub(lambda m: m.group(1) or "", text)
    if "[!" in text:
        text = _ALERT_MARK.sub(r"\1", text)
    if "{:" in text:
        text = _KRAMDOWN_EXT.sub("", text)
        text = _KRAMDOWN_TOC.sub("", text)
        text = _KRAMDOWN_IAL.sub("", text)
    if "[^" in text:
        text = _FOOTNOTE_DEF.sub("", text)
        text = _FOOTNOTE_REF.sub("", text)
    if "&" in text:
        text = _decode_entities(text)
    if "\n" in text:
        text = _BLANK_RUNS.sub("\n\n", text)
    return text


_ENTITY = re.compile(r"&(?:#\d+|#x[0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]{1,31});")


def _decode_entities(text: str) -> str:
    """Entities to characters; a non-breaking space becomes a plain one."""
    return _ENTITY.sub(lambda m: html.unescape(m.group(0)).replace("\xa0", " "), text)


# What must never be left in a post: the validator's test.
_LEFTOVER = [
    ("Liquid", re.compile(r"\{%.*?%\}|\{\{.*?\}\}", re.S)),
    ("a Hugo shortcode", re.compile(r"\{\{[<%].*?[>%]\}\}", re.S)),
    ("a kramdown attribute list", re.compile(r"\{:[^}\n]*\}")),
    ("an MDX import/export", re.compile(r"^\s*(?:import|export)\s+[\w{*].*\bfrom\s+['\"]", re.M)),
    ("a JSX component", re.compile(r"<[A-Z][\w.]*(?:\s[^<>]*)?/?>")),
    ("HTML", re.compile(r"</?(?:[a-z][a-z0-9]*)(?:\s[^<>]*)?/?>")),
    ("an HTML entity", re.compile(r"&(?:#\d+|#x[0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]{1,31});")),
]


_ENTITY_NAMES = frozenset(k.rstrip(";") for k in html.entities.html5 if k.endswith(";"))
_GENERATOR_MARKUP = re.compile(
    r"\{\{[<%].*?[>%]\}\}"                                     # Hugo shortcodes
    r"|\{:[^}\n]*\}|\{::\w+\}"                                # kramdown attribute lists, extensions
    r"|^[ \t]*(?:import|export)\s+[\w{*][^\n]*\bfrom\s+['\"][^'\"\n]+['\"]"  # MDX import/export
    r"|&(?:#\d+|#x[0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]{1,31});",      # entities
    re.M | re.S)


def generator_markup(text: str) -> list[str]:
    """Shortcodes, kramdown attribute lists, MDX imports and HTML entities left in `text`."""
    if "{" not in text and "&" not in text and "import" not in text and "export" not in text:
        return []
    found = []
    for m in _GENERATOR_MARKUP.finditer(text):
        snippet = m.group(0)
        if snippet.startswith("&") and not snippet.startswith("&#") and snippet[1:-1] not in _ENTITY_NAMES:
            continue  # "&T;" and the like: not an entity a browser would decode
        found.append(snippet)
    return found


def leftover_markup(text: str) -> tuple[str, str] | None:
    """The kind and the text of source markup `text` still carries, or None."""
    if not any(c in text for c in "{<&") and "import" not in text and "export" not in text:
        return None
    for kind, pattern in _LEFTOVER:
        found = pattern.search(text)
        if found:
            return kind, found.group(0)
    return None
