"""CSV imports: citation exports from tracking tools, and backlink exports.

Columns are found by name (any case, spaces/underscores/dashes alike), through
a preset or an explicit mapping `field=Header`. Every row is checked before
anything is written; one bad row fails the file, naming the expected columns
and the bad rows (row 1 is the header, as a spreadsheet numbers them), and a
failed import changes nothing: the whole file is one transaction.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

from citecast.citations.model import Cited, Observation, PageIndex, is_url, normalize_url, url_domain

if TYPE_CHECKING:
    from citecast.ledger.store import Ledger

MAX_LISTED = 20


class ImportFailed(Exception):
    """A file that cannot be imported; `problems` lists what is wrong, row by row."""

    def __init__(self, file: str, summary: str, problems: list[str]):
        self.file, self.summary, self.problems = file, summary, problems
        lines = [f"{file}: {summary}"] + [f"  {p}" for p in problems[:MAX_LISTED]]
        if len(problems) > MAX_LISTED:
            lines.append(f"  ... and {len(problems) - MAX_LISTED} more")
        lines.append("  nothing was imported")
        super().__init__("\n".join(lines))


@dataclass(frozen=True)
class FieldSpec:
    name: str
    label: str  # how the docs and errors name it
    required: bool
    aliases: tuple[str, ...]


def _key(header: str) -> str:
    return " ".join(re.sub(r"[^0-9a-z]+", " ", header.lower()).split())


CITATION_FIELDS = (
    FieldSpec("date", "date", True, ("date", "timestamp", "datetime", "created at", "checked at", "run date",
                                     "collected at", "response date", "refresh date", "observed at", "time")),
    FieldSpec("engine", "engine", True, ("engine", "ai engine", "llm", "llm service", "platform", "ai platform",
                                         "model", "assistant")),
    FieldSpec("prompt", "prompt", True, ("prompt", "query", "question", "keyword", "search query", "prompt text")),
    FieldSpec("url", "cited URL", True, ("cited url", "citation url", "url", "source url", "page url", "citation",
                                         "cited page", "link", "source")),
    FieldSpec("position", "position", False, ("position", "rank", "citation position", "source position",
                                              "citation rank", "order")),
    FieldSpec("topic", "topic", False, ("topic", "prompt tag", "tag", "category")),
    FieldSpec("title", "title", False, ("title", "page title", "source title", "citation title")),
    FieldSpec("brand_mentioned", "brand mentioned", False, ("brand mentioned", "brand mention", "mentioned")),
    FieldSpec("answer_id", "answer id", False, ("answer id", "response id", "run id", "result id")),
    FieldSpec("surface", "surface", False, ("surface",)),
)

BACKLINK_FIELDS = (
    FieldSpec("source_url", "source URL", True, ("source url", "referring page url", "referring page", "linking page",
                                                 "source", "from url", "url from", "backlink url")),
    FieldSpec("target_url", "target URL", True, ("target url", "link url", "target page", "target", "to url",
                                                 "url to", "destination url")),
    FieldSpec("anchor", "anchor", False, ("anchor", "anchor text", "link anchor")),
    FieldSpec("first_seen", "first seen", False, ("first seen", "first seen date", "found date", "first found",
                                                  "date found")),
    FieldSpec("last_seen", "last seen", False, ("last seen", "last crawled", "last check", "last checked")),
    FieldSpec("nofollow", "nofollow", False, ("nofollow", "no follow", "is nofollow")),
    FieldSpec("follow", "follow", False, ("dofollow", "follow", "is dofollow")),
    FieldSpec("rel", "link type", False, ("type", "link type", "rel", "link attributes", "attributes")),
)

# Header names as the tools write them; "auto" tries every alias above.
CITATION_PRESETS: dict[str, dict[str, str]] = {
    "citecast": {"date": "date", "engine": "engine", "prompt": "prompt", "url": "cited_url", "position": "position"},
    # Superlines' "Citations Data" table, as its docs list the columns.
    "superlines": {"date": "Date", "engine": "LLM Service", "prompt": "Prompt", "url": "Page URL",
                   "title": "Page Title"},
}
BACKLINK_PRESETS: dict[str, dict[str, str]] = {
    # Site Explorer > Backlinks export (current columns).
    "ahrefs": {"source_url": "Referring page URL", "target_url": "Target URL", "anchor": "Anchor",
               "first_seen": "First seen", "last_seen": "Last seen", "nofollow": "Nofollow"},
    # Older Ahrefs exports.
    "ahrefs-legacy": {"source_url": "Referring Page URL", "target_url": "Link URL", "anchor": "Link Anchor",
                      "first_seen": "First Seen", "last_seen": "Last Check", "rel": "Type"},
    # Backlink Analytics > Backlinks export.
    "semrush": {"source_url": "Source url", "target_url": "Target url", "anchor": "Anchor",
                "first_seen": "First seen", "last_seen": "Last seen", "nofollow": "Nofollow"},
    # Links > a target page > linking pages: no target column, pass --target.
    "search-console": {"source_url": "Linking page", "last_seen": "Last crawled"},
}


# --- reading -------------------------------------------------------------------


def read_table(path: Path) -> tuple[list[str], list[list[str]]]:
    """Header and rows of a CSV/TSV in UTF-8 (BOM or not) or UTF-16 (Ahrefs' Excel export)."""
    raw = path.read_bytes()
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = raw.decode("utf-16")
    else:
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = raw.decode("cp1252")
    first = text.split("\n", 1)[0]
    delimiter = max((",", "\t", ";"), key=first.count)
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    while rows and not any(c.strip() for c in rows[0]):
        rows.pop(0)
    if not rows:
        return [], []
    return [h.strip() for h in rows[0]], rows[1:]


def parse_mapping(items: Iterable[str]) -> dict[str, str]:
    """`field=Header` pairs from the command line."""
    found: dict[str, str] = {}
    for item in items:
        name, sep, header = item.partition("=")
        if not sep or not name.strip() or not header.strip():
            raise ValueError(f"bad mapping {item!r}: write field=Header, e.g. url='Cited URL'")
        found[name.strip()] = header.strip()
    return found


def resolve_columns(header: list[str], fields: tuple[FieldSpec, ...], preset: str, presets: dict[str, dict[str, str]],
                    mapping: dict[str, str], optional_required: set[str], file: str) -> dict[str, int]:
    """field -> column index; ImportFailed naming the expected columns when a required one is missing."""
    names = {f.name for f in fields}
    unknown = set(mapping) - names
    if unknown:
        raise ImportFailed(file, f"unknown field(s) in the mapping: {sorted(unknown)}", [f"fields: {sorted(names)}"])
    if preset != "auto" and preset not in presets:
        raise ImportFailed(file, f"unknown preset {preset!r}", [f"presets: auto, {', '.join(presets)}"])
    by_key = {}
    for i, h in enumerate(header):
        by_key.setdefault(_key(h), i)
    wanted = dict(presets.get(preset, {}))
    wanted.update(mapping)
    cols: dict[str, int] = {}
    for f in fields:
        if f.name in wanted and _key(wanted[f.name]) in by_key:
            cols[f.name] = by_key[_key(wanted[f.name])]
            continue
        if f.name in mapping:
            continue  # an explicit mapping that does not match is an error below, not a guess
        for alias in f.aliases:
            if alias in by_key and by_key[alias] not in cols.values():
                cols[f.name] = by_key[alias]
                break
    missing = [f for f in fields if f.required and f.name not in cols and f.name not in optional_required]
    bad_map = [f"{name}={h!r} names no column" for name, h in mapping.items() if name not in cols]
    if missing or bad_map:
        expected = ", ".join(
            f"{f.label} ({' | '.join(repr(a) for a in f.aliases[:4])}{', ...' if len(f.aliases) > 4 else ''})"
            for f in fields if f.required
        )
        problems = [f"missing: {', '.join(f.label for f in missing)}"] if missing else []
        problems += bad_map
        problems += [f"expected columns: {expected}", f"found columns: {', '.join(header) or '(none)'}",
                     "map others with --map field=Header, e.g. --map url='Cited URL'"]
        raise ImportFailed(file, "the columns do not match", problems)
    return cols


def parse_when(text: str) -> datetime:
    """ISO dates and times, and the common spreadsheet spellings; naive means UTC."""
    s = text.strip()
    if not s:
        raise ValueError("empty")
    try:
        ts = datetime.fromisoformat(s.replace("Z", "+00:00"))
    except ValueError:
        ts = None
        for fmt in ("%Y/%m/%d", "%d/%m/%Y", "%d.%m.%Y", "%b %d, %Y", "%d %b %Y", "%B %d, %Y",
                    "%Y-%m-%d %H:%M:%S %Z", "%m/%d/%Y %H:%M", "%d/%m/%Y %H:%M"):
            try:
                ts = datetime.strptime(s, fmt)
                break
            except ValueError:
                continue
        if ts is None:
            raise ValueError(f"{text!r} is not a date (use YYYY-MM-DD)") from None
    return ts.replace(tzinfo=timezone.utc) if ts.tzinfo is None else ts.astimezone(timezone.utc)


TRUE = {"1", "true", "yes", "y", "t", "x"}
FALSE = {"0", "false", "no", "n", "f", ""}


def parse_bool(text: str) -> bool:
    low = text.strip().lower()
    if low in TRUE:
        return True
    if low in FALSE:
        return False
    raise ValueError(f"{text!r} is not yes/no")


@dataclass
class ImportResult:
    kind: str
    file: str
    preset: str
    rows: int = 0
    added: int = 0  # observations or links
    skipped: int = 0  # already in the ledger
    matched: dict[str, int] = field(default_factory=dict)  # page slug -> rows naming it
    unmatched: int = 0  # rows whose URL is no page of ours
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        what = "answers" if self.kind == "citations" else "links"
        lines = [f"{self.file}: {self.rows} rows, {self.added} {what} added, {self.skipped} already imported "
                 f"(preset {self.preset})"]
        for slug, n in sorted(self.matched.items()):
            lines.append(f"  {slug}: {n} rows")
        if self.unmatched:
            lines.append(f"  {self.unmatched} rows name URLs that are none of our pages")
        lines += [f"  {n}" for n in self.notes]
        return "\n".join(lines)


def _file_sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _cell(row: list[str], cols: dict[str, int], name: str) -> str:
    i = cols.get(name)
    return row[i].strip() if i is not None and i < len(row) else ""


# --- citations -------------------------------------------------------------------


# long because: one streaming pass over the rows; to be split with the import hygiene work (issue 16)
def import_citations(ledger: "Ledger", path: Path, index: PageIndex, *, preset: str = "auto",
                     mapping: dict[str, str] | None = None, engine: str | None = None,
                     surface: str = "import", topic: str | None = None) -> ImportResult:
    """One observation per (date, engine, prompt[, answer id]); a row without URL is an answer citing nothing."""
    from sqlalchemy import select

    from citecast.citations.model import observation_row
    from citecast.ledger.citation_tables import ImportRow, ObservationRow

    file = str(path)
    header, rows = read_table(path)
    if not header:
        raise ImportFailed(file, "the file is empty", ["expected a header row: date, engine, prompt, cited_url, position"])
    cols = resolve_columns(header, CITATION_FIELDS, preset, CITATION_PRESETS, mapping or {},
                           {"engine"} if engine else set(), file)
    problems: list[str] = []
    groups: dict[tuple, Observation] = {}
    result = ImportResult("citations", path.name, preset)
    for n, row in enumerate(rows, start=2):
        if not any(c.strip() for c in row):
            continue
        result.rows += 1
        bad: list[str] = []
        try:
            when = parse_when(_cell(row, cols, "date"))
        except ValueError as exc:
            bad.append(f"date: {exc}")
        eng = engine or _cell(row, cols, "engine")
        if not eng:
            bad.append("engine: empty")
        prompt = _cell(row, cols, "prompt")
        if not prompt:
            bad.append("prompt: empty")
        url = _cell(row, cols, "url")
        if url and not is_url(url):
            bad.append(f"cited URL: {url!r} is not an http(s) URL")
        pos_text = _cell(row, cols, "position")
        position = None
        if pos_text:
            try:
                position = int(float(pos_text))
                if position < 1:
                    raise ValueError
            except ValueError:
                bad.append(f"position: {pos_text!r} is not a whole number >= 1")
        mentioned = None
        if "brand_mentioned" in cols:
            try:
                mentioned = parse_bool(_cell(row, cols, "brand_mentioned"))
            except ValueError as exc:
                bad.append(f"brand mentioned: {exc}")
        if bad:
            problems.append(f"row {n}: " + "; ".join(bad))
            continue
        row_surface = _cell(row, cols, "surface") or surface
        answer_id = _cell(row, cols, "answer_id")
        key = (when, eng.lower(), row_surface, prompt, answer_id)
        obs = groups.get(key)
        if obs is None:
            page = index.page_for_query(prompt)
            obs_topic = _cell(row, cols, "topic") or topic or index.topic_for_query(prompt) or "general"
            dedupe = hashlib.sha256("|".join([eng.lower(), row_surface, prompt, when.isoformat(), answer_id])
                                    .encode()).hexdigest()
            obs = groups[key] = Observation(engine=eng.lower(), engine_kind="import", surface=row_surface,
                                            query=prompt, topic=obs_topic, page=page, observed_at=when,
                                            brand_mentioned=mentioned, dedupe_key=dedupe)
        elif mentioned:
            obs.brand_mentioned = True
        if url:
            obs.cited.append(Cited(url, "citation", _cell(row, cols, "title") or None, position))
            slug = index.match(url)
            if slug:
                result.matched[slug] = result.matched.get(slug, 0) + 1
            else:
                result.unmatched += 1
    if problems:
        raise ImportFailed(file, f"{len(problems)} bad row(s)", problems)
    with ledger.session() as s:
        imp = ImportRow(kind="citations", file_name=path.name, file_sha256=_file_sha(path), preset=preset,
                        rows=result.rows)
        s.add(imp)
        s.flush()
        keys = [o.dedupe_key for o in groups.values()]
        existing: set[str] = set()
        for chunk in range(0, len(keys), 500):
            existing |= set(s.scalars(select(ObservationRow.dedupe_key)
                                      .where(ObservationRow.dedupe_key.in_(keys[chunk:chunk + 500]))))
        for obs in groups.values():
            if obs.dedupe_key in existing:
                result.skipped += 1
                continue
            obs.cited.sort(key=lambda c: (c.position is None, c.position or 0))
            s.add(observation_row(obs, index, import_id=imp.id))
            result.added += 1
        imp.added, imp.skipped = result.added, result.skipped
    return result


# --- backlinks -------------------------------------------------------------------


def _follow(row: list[str], cols: dict[str, int]) -> bool:
    if "nofollow" in cols:
        return not parse_bool(_cell(row, cols, "nofollow"))
    if "follow" in cols:
        return parse_bool(_cell(row, cols, "follow"))
    if "rel" in cols:
        rel = _cell(row, cols, "rel").lower()
        return not any(w in rel for w in ("nofollow", "ugc", "sponsored"))
    return True


def import_backlinks(ledger: "Ledger", path: Path, index: PageIndex, *, preset: str = "auto",
                     mapping: dict[str, str] | None = None, target: str | None = None) -> ImportResult:
    """One row per link; a link already in the ledger (same source page and target) is skipped."""
    from sqlalchemy import select

    from citecast.ledger.citation_tables import BacklinkRow, ImportRow

    file = str(path)
    if target and not is_url(target):
        raise ImportFailed(file, f"--target {target!r} is not an http(s) URL", [])
    header, rows = read_table(path)
    if not header:
        raise ImportFailed(file, "the file is empty", ["expected a header row: source_url, target_url, anchor, "
                                                       "first_seen, nofollow"])
    cols = resolve_columns(header, BACKLINK_FIELDS, preset, BACKLINK_PRESETS, mapping or {},
                           {"target_url"} if target else set(), file)
    if "target_url" not in cols and not target:  # pragma: no cover - resolve_columns raised already
        raise ImportFailed(file, "no target column", ["pass --target URL"])
    problems: list[str] = []
    links: dict[tuple[str, str], dict[str, Any]] = {}
    result = ImportResult("backlinks", path.name, preset)
    for n, row in enumerate(rows, start=2):
        if not any(c.strip() for c in row):
            continue
        result.rows += 1
        bad: list[str] = []
        source = _cell(row, cols, "source_url")
        if not is_url(source):
            bad.append(f"source URL: {source!r} is not an http(s) URL")
        tgt = _cell(row, cols, "target_url") or target or ""
        if not is_url(tgt):
            bad.append(f"target URL: {tgt!r} is not an http(s) URL")
        dates: dict[str, date | None] = {"first_seen": None, "last_seen": None}
        for name in dates:
            text = _cell(row, cols, name)
            if text:
                try:
                    dates[name] = parse_when(text).date()
                except ValueError as exc:
                    bad.append(f"{name.replace('_', ' ')}: {exc}")
        try:
            follow = _follow(row, cols)
        except ValueError as exc:
            bad.append(f"nofollow: {exc}")
        if bad:
            problems.append(f"row {n}: " + "; ".join(bad))
            continue
        norm = normalize_url(tgt)
        key = (source, norm)
        prior = links.get(key)
        if prior and prior["first_seen"] and dates["first_seen"] and prior["first_seen"] <= dates["first_seen"]:
            continue
        slug = index.match(tgt)
        links[key] = dict(source_url=source, source_domain=url_domain(source), target_url=tgt,
                          target_normalized=norm, page=slug, anchor=_cell(row, cols, "anchor"),
                          first_seen=dates["first_seen"], last_seen=dates["last_seen"], follow=follow, tool=preset)
    if problems:
        raise ImportFailed(file, f"{len(problems)} bad row(s)", problems)
    for link in links.values():
        if link["page"]:
            result.matched[link["page"]] = result.matched.get(link["page"], 0) + 1
        else:
            result.unmatched += 1
    with ledger.session() as s:
        imp = ImportRow(kind="backlinks", file_name=path.name, file_sha256=_file_sha(path), preset=preset,
                        rows=result.rows)
        s.add(imp)
        s.flush()
        existing = {(r.source_url, r.target_normalized): r for r in s.scalars(select(BacklinkRow))}
        for key, link in links.items():
            old = existing.get(key)
            if old is not None:
                result.skipped += 1
                if link["first_seen"] and (old.first_seen is None or link["first_seen"] < old.first_seen):
                    old.first_seen = link["first_seen"]
                continue
            s.add(BacklinkRow(import_id=imp.id, **link))
            result.added += 1
        imp.added, imp.skipped = result.added, result.skipped
    return result


def citation_template() -> str:
    return "date,engine,prompt,cited_url,position\n2026-03-02,chatgpt,do backlinks still matter for AI citations,https://example.com/page,1\n"
