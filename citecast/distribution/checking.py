"""`citecast check`: pages, the library's cross-page rules and the channel templates."""

from __future__ import annotations

from dataclasses import dataclass

from citecast.settings import Settings
from citecast.pages.loading import FIXES, load_library
from citecast.pages.problems import Problem, ProblemsBySeverity, display_path


@dataclass
class CheckResult(ProblemsBySeverity):
    problems: list[Problem]
    pages: int
    files: int
    site: str = ""  # which generator, base URL and permalink rule, with one example URL


def check_all(settings: Settings, ledger=None, verify_urls: bool = False) -> CheckResult:
    library = load_library(settings, ledger.distributed_urls() if ledger is not None else None, keep_text=False)
    problems = list(library.problems)
    if verify_urls:  # the network, only when asked
        from citecast.pages.verify import verify_urls as verify

        problems += verify(library.pages, settings.root)
    problems += template_problems(settings, library.pages)
    site = library.site.describe() if library.site else ""
    if site and library.pages:
        site += f"; e.g. {library.pages[0].canonical_url}"
    return CheckResult(problems, len(library.pages), library.files, site)


def template_problems(settings: Settings, pages) -> list[Problem]:
    """Every template a page would use must exist, compile and render a valid post."""
    from citecast import channels as registry
    from citecast.distribution.drafting import DraftError, guidance_context, link_for, offline_draft, page_options
    from citecast.distribution.templates import TemplateProblem, Templates

    templates = Templates(settings.path("templates"), settings.templates)
    found: list[Problem] = []
    seen: set[str] = set()
    for page in pages:
        for name in page.channels:
            tname = templates.name_for(name, page.templates)
            if name in page.templates:
                try:
                    templates.get(name, page.templates)
                except TemplateProblem as exc:
                    if "outside the templates folder" in str(exc):
                        found.append(Problem(display_path(page.path, settings.root), str(exc),
                                             FIXES["templates"], "templates"))
                        continue
            if tname in seen:
                continue
            seen.add(tname)
            where = display_path(settings.path("templates") / tname, settings.root)
            try:
                channel = registry.adapter_class(name)(settings.channel_options(name))
                opts = page_options(page, name, settings.channel_options(name))
                template = templates.get(name, page.templates)
                link = link_for(page, name, settings.distribution.utm)
                template.render_block("guidance", guidance_context(name))
                offline_draft(page, channel, template, link, opts)
            except TemplateProblem as exc:
                found.append(Problem(where, str(exc), "fix the template's Jinja2 syntax or its name in citecast.toml"))
            except DraftError as exc:
                found.append(Problem(where, f"renders no valid post for {page.slug}: {exc}",
                                     "shorten the template's fixed text", severity="warning"))
    return found
