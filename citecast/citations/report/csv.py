"""One CSV file per table of the report."""

from __future__ import annotations

import csv
from pathlib import Path

from citecast.citations.report.tables import Report
from citecast.citations.report.text import csv_value


def write_csv(report: Report, folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for table in report.tables.values():
        path = folder / f"{table.name}.csv"
        with path.open("w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(table.head)
            w.writerows([[csv_value(v) for v in row] for row in table.rows])
        written.append(path)
    return written
