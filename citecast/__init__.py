"""citecast: distribution-first content pipeline. The core imports no Prefect."""

__version__ = "0.1.0"
