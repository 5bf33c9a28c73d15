"""The `citecast` command: a Typer app, one module per command group."""

from citecast.cli.app import app, main

__all__ = ["app", "main"]
