"""twitter-text (X's rules for weighted length and for what is a link), imported without pkg_resources.

twitter-text reads its emoji list through pkg_resources, which setuptools
deprecates: importing pkg_resources cost `citecast check` about a third of
twitter-text's import time and printed a deprecation warning on every run. The
one call twitter-text makes, `resource_string(module, file)`, reads a file
beside that module; a stand-in answers it while twitter-text imports and is
removed afterwards, so nothing else ever sees it. Imports nothing of ours.
"""

from __future__ import annotations

import sys
import types
from pathlib import Path


def _resource_string(module: str, name: str) -> bytes:
    return (Path(sys.modules[module].__file__).parent / name).read_bytes()


def load() -> types.ModuleType:
    """The twitter_text package (imported on first use)."""
    if "twitter_text" in sys.modules:
        return sys.modules["twitter_text"]
    stand_in = None
    if "pkg_resources" not in sys.modules:
        stand_in = types.ModuleType("pkg_resources")
        stand_in.resource_string = _resource_string  # type: ignore[attr-defined]
        sys.modules["pkg_resources"] = stand_in
    try:
        import twitter_text
    finally:
        if stand_in is not None and sys.modules.get("pkg_resources") is stand_in:
            del sys.modules["pkg_resources"]
    return twitter_text
