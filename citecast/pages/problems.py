"""Problems found in pages and settings, phrased so an editor can fix them."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal


@dataclass(frozen=True)
class Problem:
    file: str
    message: str
    fix: str = ""
    field: str | None = None
    line: int | None = None
    severity: Literal["error", "warning", "info"] = "error"  # info: a file the site does not publish

    def __str__(self) -> str:
        return self.as_line()

    def as_line(self, file: str | None = None) -> str:
        """One line, as ruff and mypy print theirs: `path:line: error: field: message (fix: ...)`."""
        where = (file or self.file) + (f":{self.line}" if self.line else "")
        what = f"{self.field}: " if self.field else ""
        fix = f" (fix: {self.fix})" if self.fix else ""
        return f"{where}: {self.severity}: {what}{self.message}{fix}"

    def as_dict(self) -> dict:
        return asdict(self)


class ProblemsBySeverity:
    """`errors`, `warnings` and `skipped` of a `problems` list (a page library, a check)."""

    problems: list[Problem]

    @property
    def skipped(self) -> list[Problem]:
        """Files the site does not publish, each with the generator's reason."""
        return [p for p in self.problems if p.severity == "info"]

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]


def display_path(path: Path, root: Path | None = None, resolve: bool = True) -> str:
    """A path relative to the project root when it lies inside it.

    `resolve=False` skips the file-system calls, for paths already built from
    the (resolved) root, as every page path is.
    """
    try:
        if resolve:
            return str(path.resolve().relative_to((root or Path.cwd()).resolve()))
        text, base = str(path), str(root or Path.cwd()).rstrip(os.sep) + os.sep
        return text[len(base):] if text.startswith(base) else text
    except ValueError:
        return str(path)
