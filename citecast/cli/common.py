"""What every command shares: settings, the ledger, refusals of unknown values, the two output shapes.

Only typer is imported at the top: each command imports what it needs when it
runs, so `citecast --help` and `citecast check` do not pay for Rich tables,
SQLAlchemy or Prefect they never use.
"""

from __future__ import annotations

import os
import re
import sys
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Collection, NoReturn

import typer

if TYPE_CHECKING:
    from rich.console import Console

    from citecast.settings import Settings

#: valid values listed when a value is refused (the nearest is always named)
MAX_LISTED = 30
# Rich's own markup pattern (rich.markup.escape), without importing Rich for it.
_MARKUP = re.compile(r"(\\*)(\[[a-z#/@][^[]*?])")


def escape(text: str) -> str:
    """Text shown as-is by Rich: `[citations.engines]` is a name, not a style tag."""

    def backslash(match: re.Match) -> str:
        slashes, tag = match.groups()
        return f"{slashes}{slashes}\\{tag}"

    text = _MARKUP.sub(backslash, text)
    return text + "\\" if text.endswith("\\") and not text.endswith("\\\\") else text


@lru_cache(maxsize=None)
def console() -> "Console":
    from rich.console import Console

    return Console()


@lru_cache(maxsize=None)
def err() -> "Console":
    from rich.console import Console

    return Console(stderr=True)


def to_terminal() -> bool:
    """Whether stdout is a person's terminal (tables) or a pipe or a file (one line per item, for logs).

    Rich decides when told to by FORCE_COLOR or TTY_COMPATIBLE; otherwise the answer needs no
    Rich, so piped `citecast check` never imports it.
    """
    if os.environ.get("FORCE_COLOR") or os.environ.get("TTY_COMPATIBLE"):
        return console().is_terminal
    isatty = getattr(sys.stdout, "isatty", None)
    return bool(isatty and isatty())


def fail(message: str, code: int = 2) -> NoReturn:
    """Print an error to stderr and exit: 2 for a bad command line or settings, 1 for a failed check."""
    err().print(f"[red]{escape(message)}[/red]", soft_wrap=True)
    raise typer.Exit(code)


def refuse(option: str, value: str, valid: Collection[str], what: str = "value") -> NoReturn:
    """Exit 2 for a value the option does not know, naming the valid ones and the nearest."""
    from citecast.settings import nearest

    guess = nearest(value, valid)
    hint = f"did you mean {guess!r}? " if guess else ""
    names = sorted(valid)
    choices = ", ".join(names[:MAX_LISTED]) or "none"
    if len(names) > MAX_LISTED:  # a library of 10,000 pages: the nearest matters, not the list
        choices += f", ... ({len(names) - MAX_LISTED} more)"
    fail(f"{option}: unknown {what} {value!r}: {hint}valid: {choices}")


def refuse_unknown(option: str, values: Collection[str], valid: Collection[str], what: str = "value") -> None:
    for value in values:
        if value not in valid:
            refuse(option, value, valid, what)


def refuse_channels(option: str, values: Collection[str]) -> None:
    from citecast.settings import KNOWN_CHANNELS

    refuse_unknown(option, values, KNOWN_CHANNELS, "channel")


def load_settings() -> "Settings":
    """The settings, with every [channels.<name>] key checked against its adapter; exit 2 naming bad keys."""
    from citecast import channels as registry
    from citecast.settings import ConfigError
    from citecast.settings import load_settings as load

    try:
        settings = load()
        settings.check_channel_options({name: registry.settings_keys(name) for name in settings.channels})
    except ConfigError as exc:
        for line in exc.problems:
            err().print(escape(line), style="red", soft_wrap=True, highlight=False)
        raise typer.Exit(2)
    return settings


def open_ledger(settings: "Settings", must_exist: bool = False):
    """The ledger; None when `must_exist` and the SQLite file is not there yet (nothing to read)."""
    url = settings.ledger_url
    if must_exist and url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        return None
    from citecast.ledger import Ledger

    return Ledger(url)


def relative(path: str | Path, base: str | Path | None = None) -> str:
    """A path relative to the working directory when inside it, else in full."""
    try:
        return str(Path(path).resolve().relative_to(Path(base or Path.cwd()).resolve()))
    except ValueError:
        return str(path)


def echo(text: str = "") -> None:
    """A plain line on stdout: no markup, no wrapping (for logs and pipes)."""
    sys.stdout.write(text + "\n")
