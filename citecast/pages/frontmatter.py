"""A page file's text and its front matter: YAML (`---`), TOML (`+++`) or JSON (`{`).

Jekyll and Astro write YAML; Hugo writes any of the three. Each failure is a
PageError naming what is wrong, where, and the fix.
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

import yaml
from frontmatter.default_handlers import TOMLHandler, YAMLHandler

MAX_PAGE_BYTES = 1_000_000


class PageError(Exception):
    """One problem that stops a page from loading."""

    def __init__(self, message: str, fix: str = "", field: str | None = None, line: int | None = None):
        super().__init__(message)
        self.message, self.fix, self.field, self.line = message, fix, field, line


class TomlHandler(TOMLHandler):
    """python-frontmatter's TOML handler needs the `toml` package; the stdlib reads TOML 1.0."""

    def load(self, fm: str, **kwargs: object) -> Any:
        return tomllib.loads(fm)


_YAML, _TOML = YAMLHandler(), TomlHandler()


def read_text(path: Path, content_root: Path) -> str:
    """The file as text with "\\n" line ends, or PageError (links out, too big, binary, not UTF-8)."""
    if path.is_symlink() and not path.resolve().is_relative_to(content_root.resolve()):
        raise PageError("is a link to a file outside the content folder", "copy the page into content/ instead of linking it")
    try:
        with open(path, "rb") as fh:  # never more than the limit, however big the file
            raw = fh.read(MAX_PAGE_BYTES + 1)
        if len(raw) > MAX_PAGE_BYTES:
            size = path.stat().st_size
            raise PageError(f"is {size / 1e6:.1f} MB; pages over {MAX_PAGE_BYTES / 1e6:.0f} MB are skipped",
                            "split it into smaller pages")
    except OSError as exc:
        raise PageError(f"cannot be read: {exc.strerror}", "check the file's permissions") from exc
    if b"\x00" in raw:
        raise PageError("is binary, not text", "save it as a UTF-8 markdown file")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise PageError(f"is not UTF-8 (byte {exc.start})", "re-save the file as UTF-8", line=line) from exc
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


def split(text: str) -> tuple[dict, str]:
    """(front matter, body); PageError when the block is missing, unclosed or does not parse."""
    if text.startswith("{"):
        return _split_json(text)
    if not text.startswith(("---", "+++")):
        raise PageError("has no front matter", "start the file with a `---` YAML block holding at least `title:`", line=1)
    handler = _TOML if text.startswith("+++") else _YAML
    # python-frontmatter's own split and load, so a block that is not a mapping is
    # reported instead of silently read as empty.
    try:
        fm_text, body = handler.split(text)
    except ValueError:
        closing = "+++" if handler is _TOML else "---"
        raise PageError("front matter is never closed", f"end it with a `{closing}` line before the body", line=1)
    try:
        meta = handler.load(fm_text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise PageError(f"front matter is not valid YAML: {problem}", "fix the YAML syntax (quote values with ':' or '#')",
                        line=mark.line + 2 if mark else None)
    except tomllib.TOMLDecodeError as exc:
        raise PageError(f"front matter is not valid TOML: {exc}", "fix the TOML syntax (strings need quotes)")
    except ValueError as exc:  # YAML builds dates itself: 2026-02-30 fails here
        bad = re.search(r"^\s*([\w-]+)\s*[:=]\s*['\"]?\d{4}-\d{2}-\d{2}", text, re.M)
        raise PageError(f"front matter has an impossible value: {exc}", "write dates as YYYY-MM-DD with a real day",
                        bad.group(1) if bad else None)
    except Exception as exc:  # python-frontmatter raises plain errors on malformed blocks
        raise PageError(f"front matter cannot be read: {exc}", "check the block between the `---` lines", line=1)
    return _mapping(meta), body


def _split_json(text: str) -> tuple[dict, str]:
    """Hugo's JSON front matter: one object at the top of the file, the body after it."""
    try:
        meta, end = json.JSONDecoder().raw_decode(text)
    except json.JSONDecodeError as exc:
        raise PageError(f"front matter is not valid JSON: {exc.msg}", "fix the JSON object at the top of the file",
                        line=exc.lineno)
    return _mapping(meta), text[end:].lstrip("\n")


def _mapping(meta: Any) -> dict:
    if meta is None:
        return {}
    if not isinstance(meta, dict):
        raise PageError("front matter is not a mapping of keys to values", "write it as `key: value` lines", line=2)
    return meta


def body_of(text: str) -> str:
    """The body of a page's text ("" when it no longer splits)."""
    try:
        return split(text)[1]
    except PageError:
        return ""


def line_of(text: str, key: str | None) -> int | None:
    """The line of a front-matter key, for error messages (so only computed for those)."""
    if not key:
        return None
    pattern = re.compile(rf"^\s*[\"']?{re.escape(key)}[\"']?\s*[:=]", re.I)
    for i, ln in enumerate(text.split("\n")[1:]):
        if ln.strip() in ("---", "+++"):
            return None
        if pattern.match(ln):
            return i + 2
    return None
