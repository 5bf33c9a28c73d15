"""Counted nouns for output: "1 word", "2 words", "1 retry". Imports nothing of ours."""

from __future__ import annotations

_IRREGULAR = {"retry": "retries", "query": "queries", "reply": "replies", "entry": "entries", "is": "are",
              "was": "were", "this": "these", "it": "they", "waits": "wait", "has": "have",
              "repeats": "repeat", "names": "name"}


def plural(word: str, n: int) -> str:
    """`word` as it goes with a count of n (just the word)."""
    if n == 1:
        return word
    if word in _IRREGULAR:
        return _IRREGULAR[word]
    if word.endswith(("s", "x", "sh", "ch")):
        return word + "es"
    return word + "s"


def count(n: int, word: str, many: str | None = None) -> str:
    """"1 page", "3 pages", "0 pages"; `many` for a plural the rule does not know."""
    return f"{n} {word if n == 1 else (many or plural(word, n))}"
