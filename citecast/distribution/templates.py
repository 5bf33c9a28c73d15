"""Channel templates: Jinja2 in a sandbox, page text passed only as data."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import FileSystemLoader, StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment

PART_BREAK = "[next post]"


class TemplateProblem(Exception):
    pass


@dataclass(frozen=True)
class ChannelTemplate:
    name: str
    source_hash: str
    _template: Any

    def has(self, block: str) -> bool:
        return block in self._template.blocks

    def render_block(self, block: str, context: dict[str, Any]) -> str:
        if not self.has(block):
            return ""
        try:
            ctx = self._template.new_context(context)
            return "".join(self._template.blocks[block](ctx)).strip()
        except TemplateError as exc:
            raise TemplateProblem(f"template {self.name}, block {block!r}: {exc}") from None

    def render_parts(self, context: dict[str, Any]) -> tuple[str, ...]:
        text = self.render_block("post", context)
        parts = [_tidy(p) for p in text.split(PART_BREAK)]
        return tuple(p for p in parts if p)


def default_templates_dir() -> Path:
    """The templates shipped inside the package (templates/ in the repository)."""
    from importlib.resources import files

    return Path(str(files("citecast.templates")))


class Templates:
    """Finds and compiles channel templates once per run.

    A site's own templates folder overrides the shipped defaults file by file:
    the loader looks there first, then in the package.
    """

    def __init__(self, directory: Path, site_overrides: dict[str, str] | None = None):
        self.directory = Path(directory)
        self.site_overrides = dict(site_overrides or {})
        search = [str(self.directory)] if self.directory.is_dir() else []
        defaults = default_templates_dir()
        if not search or defaults.resolve() != self.directory.resolve():
            search.append(str(defaults))
        self.search = [Path(d) for d in search]
        self.env = SandboxedEnvironment(
            loader=FileSystemLoader(search),
            undefined=StrictUndefined,
            autoescape=False,
            keep_trailing_newline=False,
        )
        self._cache: dict[str, ChannelTemplate] = {}

    def name_for(self, channel: str, page_overrides: dict[str, str] | None = None) -> str:
        return (page_overrides or {}).get(channel) or self.site_overrides.get(channel) or f"{channel}.md.j2"

    def get(self, channel: str, page_overrides: dict[str, str] | None = None) -> ChannelTemplate:
        name = self.name_for(channel, page_overrides)
        if name not in self._cache:
            path = next((d / name for d in self.search if (d / name).is_file()), None)
            if path is not None and not _inside(path, self.search):
                raise TemplateProblem(f"template {name} resolves outside the templates folder (channel {channel}); "
                                      "name a file inside it, and no symlinks that lead out")
            if path is None:
                where = " or ".join(str(d) for d in self.search)
                raise TemplateProblem(f"template {name} not found in {where} (channel {channel})")
            source = path.read_text(encoding="utf-8")
            try:
                compiled = self.env.from_string(source)
            except TemplateError as exc:
                line = getattr(exc, "lineno", None)
                raise TemplateProblem(f"template {name}{f' line {line}' if line else ''}: {exc}") from None
            self._cache[name] = ChannelTemplate(name, hashlib.sha256(source.encode()).hexdigest(), compiled)
        return self._cache[name]


def _inside(path: Path, folders: list[Path]) -> bool:
    """The file, symlinks followed, lies inside the folder it was found in: `..`, absolute names
    and symlinks out of the folder never reach a file elsewhere (whose guidance would go to the LLM)."""
    real = path.resolve()
    return any(real.is_relative_to(d.resolve()) for d in folders if str(path).startswith(str(d)))


def _tidy(text: str) -> str:
    lines = [ln.rstrip() for ln in text.strip().split("\n")]
    out: list[str] = []
    for ln in lines:
        if ln == "" and out and out[-1] == "":
            continue
        out.append(ln)
    return "\n".join(out).strip()
