"""Shared fixtures. Prefect's home and settings are fixed before anything imports Prefect."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
_PREFECT_HOME = tempfile.mkdtemp(prefix="citecast-prefect-")
os.environ["PREFECT_HOME"] = _PREFECT_HOME
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "240")
# Tests configure citecast through files and CITECAST_* variables they set themselves.
# Engine SDKs read their keys and base URLs from the environment too: none of a developer's real ones.
for name in list(os.environ):
    if name.startswith(("CITECAST_", "OPENAI_", "ANTHROPIC_", "GEMINI_", "GOOGLE_GENAI_", "PERPLEXITY_")) \
            or name == "GOOGLE_API_KEY":
        del os.environ[name]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


class Project:
    """A throwaway citecast project: its own citecast.toml, content, templates, ledger and outbox."""

    def __init__(self, root: Path):
        self.root = root
        self.content = root / "content"
        self.templates = root / "templates"
        self.outbox = root / "outbox"
        self.config = root / "citecast.toml"

    def settings(self):
        from citecast.settings import load_settings

        return load_settings()

    def write_page(self, name: str, text: str) -> Path:
        path = self.content / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    def sent(self) -> list[dict]:
        """Every post the outbox 'platform' received, in order."""
        import json

        log = self.outbox / "sent.jsonl"
        if not log.exists():
            return []
        return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture
def project(tmp_path, monkeypatch) -> Project:
    root = tmp_path / "site"
    root.mkdir()
    shutil.copytree(REPO / "content", root / "content")
    shutil.copytree(REPO / "templates", root / "templates")
    shutil.copy(REPO / "citecast.toml", root / "citecast.toml")
    monkeypatch.setenv("CITECAST_CONFIG", str(root / "citecast.toml"))
    monkeypatch.chdir(root)
    return Project(root)


@pytest.fixture
def empty_project(project) -> Project:
    shutil.rmtree(project.content)
    project.content.mkdir()
    return project


GOOD_PAGE = """---
title: {title}
slug: {slug}
topic: testing
updated: 2026-11-02
queries: [what is {slug}]
---

{slug} is a page whose first paragraph answers the question directly, in a few plain sentences that stand on their own without any links at all.

## Key points

- The first point is short and concrete.
- The second point carries a number, 42%.

## Evidence

In 2025, 3 of 4 teams saw the effect, per [a study](https://example.org/study).

## FAQ

### Does it work?

Yes, in most of the cases we measured.
"""


def good_page(slug: str, title: str | None = None) -> str:
    return GOOD_PAGE.format(slug=slug, title=title or slug.replace("-", " ").title())
