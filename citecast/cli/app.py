"""The `citecast` command: wires the command groups, one module each, into one Typer app.

Each command module imports only typer at the top; what a command needs
(Rich, SQLAlchemy, Prefect, SDKs) it imports when it runs.
"""

from __future__ import annotations

import inspect
import sys

import typer

from citecast.cli import channels, check, citations, cohorts, ledger, preview, queries, run
from citecast.cli.common import err, escape

app = typer.Typer(
    help="Distribution-first content pipeline: canonical pages to platform-native posts, with citation tracking.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

for group in (check, run, preview, ledger, channels, citations, queries, cohorts):
    group.register(app)


def _escape_help(typer_app: typer.Typer) -> None:
    """Show help texts as written: Typer reads them as Rich markup, which swallows `[citations.engines]`."""
    if isinstance(typer_app.info.help, str):
        typer_app.info.help = escape(typer_app.info.help)
    for info in [*typer_app.registered_commands, typer_app.registered_callback, *typer_app.registered_groups]:
        if info is None:
            continue
        if isinstance(getattr(info, "typer_instance", None), typer.Typer):
            _escape_help(info.typer_instance)
        callback = info.callback if callable(info.callback) else None
        if isinstance(info.help, str):
            info.help = escape(info.help)
        elif callback is not None and callback.__doc__:
            callback.__doc__ = escape(callback.__doc__)
        for param in inspect.signature(callback).parameters.values() if callback else ():
            if isinstance(getattr(param.default, "help", None), str):
                param.default.help = escape(param.default.help)


_escape_help(app)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        err().print("Interrupted.")
        sys.exit(130)
    except Exception as exc:
        # Settings problems found past the settings check, e.g. a ledger URL nothing answers at. Only a
        # command that loaded the settings can raise one: `--help` does not pay for importing them.
        settings = sys.modules.get("citecast.settings")
        if settings is None or not isinstance(exc, settings.ConfigError):
            raise
        for line in exc.problems:
            err().print(escape(line), style="red", soft_wrap=True, highlight=False)
        sys.exit(2)


if __name__ == "__main__":
    main()
