"""How table values print: one place, so HTML, markdown and artifacts agree."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from citecast.citations.report.tables import Column


def cell_text(col: Column, value: Any) -> str:
    if value is None or value == "":
        return "–"
    kind = col.kind
    if isinstance(value, str) and kind in ("rate", "points", "p", "days", "num", "int"):
        return value  # a word in a figure's place ("not measured") prints as it is
    if kind == "rate":
        return f"{float(value) * 100:.1f}%"
    if kind == "points":
        return f"{float(value) * 100:+.1f} pts"
    if kind == "p":
        return "<0.001" if value < 0.001 else f"{value:.3f}"
    if kind == "days":
        return f"{float(value):.1f}"
    if kind == "num":
        return f"{float(value):.3f}"
    if kind == "date":
        if isinstance(value, datetime):
            return value.strftime("%Y-%m-%d %H:%M")
        if isinstance(value, date):
            return value.isoformat()
    if kind == "pages":
        return ", ".join(str(value).split(";"))
    return str(value)


def csv_value(value: Any) -> Any:
    """Plain values for CSV: fractions stay fractions (4 decimals), times in ISO 8601."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    return value


def anchor(table: str, key: Any) -> str:
    """The HTML id of a table's row(s) for `key`: `table-key`, only [a-z0-9-]."""
    return f"{table}-" + re.sub(r"[^a-z0-9]+", "-", str(key).lower()).strip("-")
