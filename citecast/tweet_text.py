"""twitter-text (X's rules for weighted length and for what is a link), imported at a fraction of its cost.

Two things made importing twitter-text the largest part of `citecast check`'s
start-up, and neither is needed to count an ordinary post:

- it reads its emoji list through pkg_resources, which setuptools deprecates
  (slow to import, and a deprecation warning on every run). The one call it
  makes, `resource_string(module, file)`, reads a file beside that module: a
  stand-in answers it, and is removed again once twitter-text is imported;
- at import it parses the Unicode emoji list and compiles a pattern of several
  thousand alternatives (half of what remains). Every emoji in that list holds
  a code point beyond ASCII (tests/test_startup.py checks the list itself), so
  an ASCII text contains none: the pattern is built on the first text that is
  not ASCII, from twitter-text's own module, and the counts are unchanged.

Imports nothing of ours.
"""

from __future__ import annotations

import importlib.util
import sys
import threading
import types
from pathlib import Path

_EMOJI = "twitter_text.regexp.emoji"
_lock = threading.Lock()


def _resource_string(module: str, name: str) -> bytes:
    return (Path(sys.modules[module].__file__).parent / name).read_bytes()


class _PkgResources:
    """`pkg_resources` while twitter-text imports (only if the real one is not loaded already)."""

    def __enter__(self):
        self.stand_in = None
        if "pkg_resources" not in sys.modules:
            self.stand_in = types.ModuleType("pkg_resources")
            self.stand_in.resource_string = _resource_string  # type: ignore[attr-defined]
            sys.modules["pkg_resources"] = self.stand_in

    def __exit__(self, *exc):
        if self.stand_in is not None and sys.modules.get("pkg_resources") is self.stand_in:
            del sys.modules["pkg_resources"]


class _Emoji:
    """twitter-text's emoji pattern, built on the first text that is not ASCII."""

    def __init__(self, path: str):
        self.path = path
        self.pattern = None

    def real_module(self) -> types.ModuleType:
        """twitter-text's own emoji module, executed from its file (the stand-in keeps its name)."""
        spec = importlib.util.spec_from_file_location(_EMOJI, self.path)
        module = importlib.util.module_from_spec(spec)
        with _PkgResources():
            spec.loader.exec_module(module)
        return module

    def finditer(self, text: str, *args):
        if text.isascii():
            return iter(())
        if self.pattern is None:
            with _lock:
                if self.pattern is None:
                    self.pattern = self.real_module().emoji
        return self.pattern.finditer(text, *args)


def load() -> types.ModuleType:
    """The twitter_text package (imported on first use)."""
    if "twitter_text" in sys.modules:
        return sys.modules["twitter_text"]
    with _lock:
        if _EMOJI not in sys.modules:
            spec = importlib.util.find_spec("twitter_text")
            path = str(Path(spec.origin).parent / "regexp" / "emoji.py")
            stand_in = types.ModuleType(_EMOJI)
            stand_in.__file__ = path
            stand_in.emoji = _Emoji(path)  # type: ignore[attr-defined]
            sys.modules[_EMOJI] = stand_in
        with _PkgResources():
            import twitter_text
    return twitter_text
