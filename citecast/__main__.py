"""`python -m citecast` is the `citecast` command."""

from citecast.cli.app import main

main()
