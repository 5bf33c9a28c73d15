"""twitter-text (X's rules for weighted length and for what is a link), imported at a fraction of its cost.

Three things made importing twitter-text the largest part of `citecast check`'s
start-up, and none is needed to count an ordinary post:

- it reads its emoji list through pkg_resources, which setuptools deprecates
  (slow to import, and a deprecation warning on every run). The one call it
  makes, `resource_string(module, file)`, reads a file beside that module: a
  stand-in answers it, and is removed again once twitter-text is imported;
- at import it parses the Unicode emoji list and compiles a pattern of several
  thousand alternatives (half of what remains). Every emoji in that list holds
  a code point beyond ASCII (tests/test_startup.py checks the list itself), so
  an ASCII text contains none: the pattern is built on the first text that is
  not ASCII, from twitter-text's own module, and the counts are unchanged;
- its URL patterns hold the ~1,500 top-level domains X knows, and at import it
  compiles that list four times (the TLDs alone, the domain, the ASCII domain,
  the URL: ~60 ms), though counting uses only the last two. Its modules are
  executed with a `re` whose `compile` returns a pattern compiled on first use
  (same string, same flags; tests/test_startup.py compares every pattern and
  the counts of hostile texts with a plain import): the building blocks are
  never compiled, the URL pattern is compiled on the first text with a dot in
  it (~20 ms, which `check` still pays, after its imports), and the
  ASCII-domain pattern only when a text holds a link without a scheme.

Imports nothing of ours.
"""

from __future__ import annotations

import builtins
import importlib.machinery
import importlib.util
import re
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


class _LazyPattern:
    """`re.compile(pattern, flags)`, done on first use; `.pattern` and `.flags` read without compiling.

    The flags are those the compiled pattern would report (re adds UNICODE to a
    str pattern), so that twitter-text's `regex_supplant`, which carries a
    pattern's flags into the patterns built from it, builds the same ones.
    """

    __slots__ = ("pattern", "flags", "_compiled")

    def __init__(self, pattern: str, flags: int = 0):
        if not isinstance(pattern, str):
            raise TypeError(f"twitter-text compiled a {type(pattern).__name__}, not a str: update citecast.tweet_text")
        self.pattern = pattern
        self.flags = int(flags) | (0 if flags & re.ASCII else re.UNICODE)
        self._compiled = None

    def compiled(self) -> re.Pattern:
        if self._compiled is None:  # two threads may both compile: the same pattern, either is kept
            self._compiled = re.compile(self.pattern, self.flags)
        return self._compiled

    def __getattr__(self, name: str):  # match, search, finditer, groups...: the compiled pattern's
        return getattr(self.compiled(), name)


def _lazy_compile(pattern, flags=0):
    return pattern if isinstance(pattern, _LazyPattern) and not flags else _LazyPattern(pattern, flags)


#: `re` as twitter-text's modules see it: everything of re's, but `compile` is deferred
_LAZY_RE = types.ModuleType("re")
_LAZY_RE.__dict__.update({k: v for k, v in vars(re).items() if not k.startswith("__")})
_LAZY_RE.compile = _lazy_compile  # type: ignore[attr-defined]


def _import(name, globals=None, locals=None, fromlist=(), level=0):
    if name == "re" and level == 0:
        return _LAZY_RE
    return builtins.__import__(name, globals, locals, fromlist, level)


_BUILTINS = {**vars(builtins), "__import__": _import}


class _LazyRegexLoader(importlib.machinery.SourceFileLoader):
    """Executes a twitter-text module with `_LAZY_RE` as its `re` (its own `__builtins__`)."""

    def exec_module(self, module: types.ModuleType) -> None:
        module.__dict__["__builtins__"] = _BUILTINS
        super().exec_module(module)


class _TwitterTextFinder:
    """On sys.meta_path only while twitter-text imports: its submodules get the loader above."""

    @staticmethod
    def find_spec(name: str, path=None, target=None):
        if not name.startswith("twitter_text.") or name == _EMOJI:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path, target)
        if spec is not None and type(spec.loader) is importlib.machinery.SourceFileLoader:
            spec.loader = _LazyRegexLoader(spec.loader.name, spec.loader.path)
        return spec


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
        sys.meta_path.insert(0, _TwitterTextFinder)
        try:
            with _PkgResources():
                import twitter_text
        finally:
            sys.meta_path.remove(_TwitterTextFinder)
    return twitter_text
