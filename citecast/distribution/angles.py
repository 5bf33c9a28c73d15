"""A fresh angle each time an unchanged page is shared again.

Platforms refuse repeated text and followers skip it, so a re-share of the
same page leads with something else: the direct answer first, then each key
point, each FAQ answer and each statistic in the page, in turn. The angle used
is recorded on the ledger event; the next share takes the one after it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from citecast.pages.loading import Page

_SENTENCE = re.compile(r"(?<=[.!?])\s+")
_STATISTIC = re.compile(r"\d+(?:[.,]\d+)?\s?(?:%|percent|per cent)|\b\d+ (?:of|in|out of) (?:every )?\d+\b", re.I)
MAX_STATISTICS = 5


@dataclass(frozen=True)
class Angle:
    key: str  # "answer", "point:2", "faq:0", "stat:1": what the ledger records
    text: str  # the page's own words for it

    @property
    def kind(self) -> str:
        return self.key.partition(":")[0]

    @property
    def index(self) -> int:
        return int(self.key.partition(":")[2] or 0)


def angles_of(page: Page, statistics: bool = True) -> list[Angle]:
    ex = page.extract
    out = [Angle("answer", ex.direct_answer or page.description or page.title)]
    out += [Angle(f"point:{i}", p) for i, p in enumerate(ex.key_points)]
    out += [Angle(f"faq:{i}", f"{q} {a}") for i, (q, a) in enumerate(ex.faq)]
    if not statistics:
        return out
    seen = {a.text for a in out}
    stats = [s.strip() for s in _SENTENCE.split(ex.plain_text) if _STATISTIC.search(s) and s.strip() not in seen]
    out += [Angle(f"stat:{i}", s) for i, s in enumerate(dict.fromkeys(stats)) if i < MAX_STATISTICS]
    return out


def next_angle(page: Page, previous: str | None) -> Angle:
    """The angle after `previous` (the last one recorded for this page), wrapping round; the answer first."""
    # Statistics need the page's full text parsed: look at them only once the other angles are used up.
    cheap = angles_of(page, statistics=False)
    keys = [a.key for a in cheap]
    if previous is None or previous in keys[:-1]:
        return cheap[keys.index(previous) + 1] if previous is not None else cheap[0]
    angles = angles_of(page)
    keys = [a.key for a in angles]
    if previous not in keys:
        return angles[0]
    return angles[(keys.index(previous) + 1) % len(angles)]
