"""A site's root as the content folder: citecast's own outbox, ledger and templates inside it are not pages.

Found trying just-the-docs as a new user (docs/proof.md, "Real sites"): with
`content = "."` the first dry run wrote 138 drafts to ./outbox and the next
`check` loaded them as 138 more pages of the site.
"""

from __future__ import annotations

import re

import pytest

from citecast.pages.loading import load_library
from tests.conftest import good_page

DRAFT = "---\nkey: guide:x:2026-W49:0\nchannel: x\nlink: https://example.org/guide/\n---\n\nA draft.\n"


@pytest.mark.parametrize("generator_config", [
    ("_config.yml", "url: https://example.org\npermalink: pretty\n"),  # Jekyll at the site root
    (None, None),                                                      # a plain folder
])
def test_outbox_state_and_templates_under_the_content_folder_are_not_read(project, generator_config):
    name, text = generator_config
    root = project.root
    config = project.config.read_text(encoding="utf-8")
    project.config.write_text(re.sub(r'(?m)^content = "content"', 'content = "."', config), encoding="utf-8")
    if name:
        (root / name).write_text(text, encoding="utf-8")
    (root / "guide.md").write_text(good_page("guide"), encoding="utf-8")
    for folder in ("outbox/2026-W49/x", ".citecast/drafts", "templates/extra"):
        (root / folder).mkdir(parents=True, exist_ok=True)
        (root / folder / "guide.md").write_text(DRAFT, encoding="utf-8")

    lib = load_library(project.settings())

    read = sorted(str(p.path.relative_to(root)) for p in lib.pages)
    assert "guide.md" in read
    assert not [p for p in read if p.startswith(("outbox", ".citecast", "templates"))], read
    assert not [p for p in lib.problems if "outbox" in p.file or "templates" in p.file]
