"""Dates as the generators read them.

Jekyll and Hugo read YAML/TOML dates (and ISO strings); Astro's starter reads
`pubDate` with `z.coerce.date()`, i.e. JavaScript's `new Date(string)`, so
real Astro sites write "Jul 08 2022", ISO, or RFC 2822 dates. A date such as
10/05/2026 reads as 5 October in JavaScript and 10 May in most of the world:
it is refused with both readings named.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from email.utils import parsedate_to_datetime

from dateutil import parser as dateutil_parser


class AmbiguousDate(ValueError):
    """A day/month order that two readers would read differently."""


_SLASHED = re.compile(r"^\s*(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})\s*$")
_MONTH_WORD = re.compile(r"[A-Za-z]{3,}")


def parse_date(value: object) -> date | None:
    """A calendar date from a front-matter value; None when it is not a date.

    Raises AmbiguousDate for numeric day/month dates that could be either.
    """
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    try:  # ISO 8601, the common case: 2022-07-08, 2022-07-08T10:00:00Z, "2025-01-29 18:15:32 +0530"
        return datetime.fromisoformat(text.replace("Z", "+00:00")).date()
    except ValueError:
        pass
    leading = re.match(r"(\d{4})-(\d{1,2})-(\d{1,2})\b", text)
    if leading:  # Jekyll's "2025-01-29 18:15:32 +0530"; Ruby's Time.parse reads the day even past odd tails
        try:
            return dateutil_parser.parse(text).date()
        except (ValueError, OverflowError):
            try:
                return date(*(int(g) for g in leading.groups()))
            except ValueError:
                return None
    slashed = _SLASHED.match(text)
    if slashed:
        first, second, year = (int(g) for g in slashed.groups())
        if first <= 12 and second <= 12 and first != second:
            us, eu = date(year, first, second), date(year, second, first)
            raise AmbiguousDate(f"{text!r} reads as {us:%d %B %Y} (month first, as JavaScript reads it) "
                                f"or {eu:%d %B %Y} (day first)")
        if first > 12:  # day first only: JavaScript's Date (Astro) and Go (Hugo) cannot read it
            return None
    try:  # RFC 2822: "Tue, 08 Jul 2022 10:00:00 GMT"
        return parsedate_to_datetime(text).date()
    except (TypeError, ValueError, IndexError):
        pass
    if _MONTH_WORD.search(text) or slashed or re.match(r"^\d{4}[/.]\d{1,2}[/.]\d{1,2}", text):
        # "Jul 08 2022", "July 8, 2022", "8 July 2022", 2022/07/08: forms JavaScript's Date accepts.
        try:
            return dateutil_parser.parse(text, dayfirst=False, fuzzy=False).date()
        except (ValueError, OverflowError):
            return None
    return None
