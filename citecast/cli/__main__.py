"""`python -m citecast.cli` is the `citecast` command."""

from citecast.cli.app import main

main()
