"""The run form's values (Prefect UI, CLI), checked with errors that name the fix.

The form shows its defaults as words an editor can read ("this week", "all due",
"as configured") instead of empty "None" toggles; these functions turn them into
RunOptions and say plainly what is wrong with a value.
"""

from __future__ import annotations

import difflib
import re

from citecast.settings import KNOWN_CHANNELS

THIS_WEEK = "this week"
ALL_DUE = "all due"
AS_CONFIGURED = "as configured"

_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")


def check_week(value: str | None) -> str | None:
    """`this week` (or empty) -> None; `2026-W49` -> itself; anything else -> ValueError showing the format."""
    text = (value or "").strip()
    if text in ("", THIS_WEEK):
        return None
    m = _WEEK.match(text)
    hint = f"write an ISO week like 2026-W49 (year, W, two-digit week), or '{THIS_WEEK}'"
    if not m:
        raise ValueError(f"week {text!r} is not an ISO week: {hint}")
    from datetime import date

    try:
        date.fromisocalendar(int(m.group(1)), int(m.group(2)), 1)
    except ValueError:
        raise ValueError(f"week {text!r} does not exist (ISO years have 52 or 53 weeks): {hint}") from None
    return text


def check_channels(values: list[str] | None) -> list[str] | None:
    """[`as configured`] (or empty) -> None (each page's channels); else the named channels."""
    names = [str(getattr(v, "value", v)).strip() for v in values or []]
    if not names or names == [AS_CONFIGURED]:
        return None
    if AS_CONFIGURED in names:
        raise ValueError(f"channels: '{AS_CONFIGURED}' stands alone; remove it to pick channels from "
                         f"{', '.join(KNOWN_CHANNELS)}")
    unknown = [n for n in names if n not in KNOWN_CHANNELS]
    if unknown:
        raise ValueError(f"channels: unknown {', '.join(map(repr, unknown))}; valid: "
                         f"{', '.join(KNOWN_CHANNELS)} or '{AS_CONFIGURED}'")
    return list(dict.fromkeys(names))


def check_pages_shape(values: list[str] | None) -> list[str] | None:
    """[`all due`] (or empty) -> None; else the slugs, checked against the site later (`unknown_pages`)."""
    names = [v.strip().removesuffix(".md") for v in values or [] if v.strip()]
    if not names or names == [ALL_DUE]:
        return None
    if ALL_DUE in names:
        raise ValueError(f"pages: '{ALL_DUE}' stands alone; remove it to name pages by slug")
    return list(dict.fromkeys(names))


def unknown_pages(requested: list[str] | None, known: list[str], shown: int = 12) -> str | None:
    """The error for slugs the site does not have, naming the valid ones (closest first), or None."""
    have = set(known)
    missing = [s for s in requested or [] if s not in have]
    if not missing:
        return None
    parts = []
    for slug in missing:
        close = difflib.get_close_matches(slug, known, n=3)
        parts.append(f"{slug!r}" + (f" (did you mean {', '.join(close)}?)" if close else ""))
    listed = sorted(known)[:shown]
    more = f" and {len(known) - shown} more (`citecast check` lists them)" if len(known) > shown else ""
    return (f"pages: no page {'; '.join(parts)}. Valid: '{ALL_DUE}' or slugs (file names without .md): "
            f"{', '.join(listed)}{more}")
