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
from citecast.words import count, plural

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
    FieldSpec("country", "country", False, ("country", "location", "market", "region", "locale", "geo")),
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
        raise ImportFailed(file, f"unknown {plural('field', len(unknown))} in the mapping: {sorted(unknown)}", [f"fields: {sorted(names)}"])
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


# day/month/year or month/day/year, with an optional time: the order must be known, never guessed.
SLASHED = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?$")
ORDERS = {"dmy": ("%d/%m/%Y", "day first"), "mdy": ("%m/%d/%Y", "month first")}


def slash_order(text: str) -> str | None:
    """`dmy` or `mdy` when the value itself says (a part above 12), else None."""
    m = SLASHED.match(text.strip())
    if not m:
        return None
    a, b = int(m.group(1)), int(m.group(2))
    return "dmy" if a > 12 >= b else "mdy" if b > 12 >= a else None


def parse_when(text: str, date_format: str | None = None, order: str | None = None) -> datetime:
    """ISO dates and times, the common spreadsheet spellings, or `date_format`; naive means UTC.

    `10/05/2026` is 10 May or 5 October: read by `order` (dmy/mdy, from the
    file's unambiguous rows), else an error naming both readings.
    """
    s = text.strip()
    if not s:
        raise ValueError("empty")
    if date_format:  # the date's format; a time after it is allowed
        for fmt in (date_format, date_format + " %H:%M", date_format + " %H:%M:%S", date_format + "T%H:%M:%S"):
            try:
                ts = datetime.strptime(s, fmt)
                return ts.replace(tzinfo=timezone.utc) if ts.tzinfo is None else ts.astimezone(timezone.utc)
            except ValueError:
                continue
        raise ValueError(f"{text!r} does not match --date-format {date_format!r}")
    m = SLASHED.match(s)
    if m:
        return _slashed(text, m, order)
    try:
        ts = datetime.fromisoformat(s.replace("Z", "+00:00"))
    except ValueError:
        ts = None
        for fmt in ("%Y/%m/%d", "%d.%m.%Y", "%b %d, %Y", "%d %b %Y", "%B %d, %Y", "%Y-%m-%d %H:%M:%S %Z",
                    "%Y/%m/%d %H:%M"):
            try:
                ts = datetime.strptime(s, fmt)
                break
            except ValueError:
                continue
        if ts is None:
            raise ValueError(f"{text!r} is not a date (use YYYY-MM-DD)") from None
    return ts.replace(tzinfo=timezone.utc) if ts.tzinfo is None else ts.astimezone(timezone.utc)


def _slashed(text: str, m: re.Match, order: str | None) -> datetime:
    a, b, year = int(m.group(1)), int(m.group(2)), int(m.group(3))
    clock = tuple(int(g) for g in m.groups()[3:] if g is not None) + (0, 0, 0)
    readings = {}
    for key, (day, month) in (("dmy", (a, b)), ("mdy", (b, a))):
        try:
            readings[key] = datetime(year, month, day, *clock[:3], tzinfo=timezone.utc)
        except ValueError:
            continue
    if not readings:
        raise ValueError(f"{text!r} is not a date")
    if len(readings) == 1 or a == b:
        return next(iter(readings.values()))
    if order in readings:
        return readings[order]
    d, md = readings["dmy"], readings["mdy"]
    raise ValueError(f"{text!r} is ambiguous: {d:%-d %B %Y} (day first) or {md:%-d %B %Y} (month first); "
                     "pass --date-format '%d/%m/%Y' or '%m/%d/%Y'")


def file_order(cells: Iterable[tuple[int, str]], file: str) -> tuple[str | None, str | None]:
    """The day/month order the file's unambiguous slashed dates show, and a note saying which rows show it."""
    seen: dict[str, tuple[int, str]] = {}
    for n, text in cells:
        order = slash_order(text)
        if order and order not in seen:
            seen[order] = (n, text)
    if len(seen) == 2:
        (n1, t1), (n2, t2) = seen["dmy"], seen["mdy"]
        raise ImportFailed(file, "dates in two day/month orders", [
            f"row {n1}: {t1!r} is day first; row {n2}: {t2!r} is month first",
            "pass --date-format, e.g. --date-format '%d/%m/%Y'"])
    if not seen:
        return None, None
    order, (n, text) = next(iter(seen.items()))
    return order, f"dates read {ORDERS[order][1]}, as row {n} ({text!r}) shows"


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
    extended: int = 0  # answers a fuller export completed
    matched: dict[str, int] = field(default_factory=dict)  # page slug -> rows naming it
    unmatched: int = 0  # rows whose URL is no page of ours
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        what = "answer" if self.kind == "citations" else "link"
        extended = f", {self.extended} completed by this fuller export" if self.extended else ""
        lines = [f"{self.file}: {count(self.rows, 'row')}, {count(self.added, what)} added{extended}, {self.skipped} already imported "
                 f"(preset {self.preset})"]
        for slug, n in sorted(self.matched.items()):
            lines.append(f"  {slug}: {count(n, 'row')}")
        if self.unmatched:
            lines.append(f"  {count(self.unmatched, 'row')} {plural('names', self.unmatched)} URLs that are none of our pages")
        lines += [f"  {n}" for n in self.notes]
        return "\n".join(lines)


def _import_row(session, kind: str, path: Path, preset: str, result: ImportResult):
    """The file's row in `imports` (its id tags what it adds), flushed so the id is known."""
    from citecast.ledger.citation_tables import ImportRow

    imp = ImportRow(kind=kind, file_name=path.name, file_sha256=_file_sha(path), preset=preset, rows=result.rows)
    session.add(imp)
    session.flush()
    return imp


def _file_sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _cell(row: list[str], cols: dict[str, int], name: str) -> str:
    i = cols.get(name)
    return row[i].strip() if i is not None and i < len(row) else ""


# --- citations -------------------------------------------------------------------


# long because: one streaming pass over the rows; to be split with the import hygiene work (issue 16)
def import_citations(ledger: "Ledger", path: Path, index: PageIndex, *, preset: str = "auto",
                     mapping: dict[str, str] | None = None, engine: str | None = None,
                     surface: str = "import", topic: str | None = None, date_format: str | None = None) -> ImportResult:
    """Answers identified by content: the same file twice adds nothing, a fuller export adds what was missing.

    Rows with the same time, engine, surface, prompt, country (and answer id)
    form one answer; its identity is that plus its cited URLs. An answer whose
    URLs are a superset of an imported one of the same group extends it.
    """
    file = str(path)
    header, rows = read_table(path)
    if not header:
        raise ImportFailed(file, "the file is empty", ["expected a header row: date, engine, prompt, cited_url, position"])
    cols = resolve_columns(header, CITATION_FIELDS, preset, CITATION_PRESETS, mapping or {},
                           {"engine"} if engine else set(), file)
    result = ImportResult("citations", path.name, preset)
    order = None
    if not date_format:
        order, note = file_order(((n, _cell(row, cols, "date")) for n, row in enumerate(rows, start=2)), file)
        result.notes += [note] if note else []
    groups, problems, duplicates = _citation_groups(rows, cols, index, result,
                                                    dict(engine=engine, surface=surface, topic=topic),
                                                    date_format, order)
    if problems:
        raise ImportFailed(file, f"{count(len(problems), 'bad row')}", problems)
    if duplicates:
        result.notes.append(f"{count(len(duplicates), 'duplicate row')} counted once: rows "
                            + ", ".join(map(str, duplicates[:MAX_LISTED])) + (" ..." if len(duplicates) > MAX_LISTED else ""))
    _write_citations(ledger, path, preset, list(groups.values()), index, result)
    return result


def _sha(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def _citation_groups(rows: list[list[str]], cols: dict[str, int], index: PageIndex, result: ImportResult,
                     given: dict[str, Any], date_format: str | None, order: str | None):
    """Rows -> answers (grouped, content-keyed); bad rows and duplicate rows by number."""
    problems: list[str] = []
    groups: dict[tuple, Observation] = {}
    seen_urls: dict[tuple, set[str]] = {}
    duplicates: list[int] = []
    for n, row in enumerate(rows, start=2):
        if not any(c.strip() for c in row):
            continue
        result.rows += 1
        bad: list[str] = []
        try:
            when = parse_when(_cell(row, cols, "date"), date_format, order)
        except ValueError as exc:
            bad.append(f"date: {exc}")
        eng = (given["engine"] or _cell(row, cols, "engine")).lower()
        prompt = _cell(row, cols, "prompt")
        bad += [f"{name}: empty" for name, v in (("engine", eng), ("prompt", prompt)) if not v]
        url = _cell(row, cols, "url")
        if url and not is_url(url):
            bad.append(f"cited URL: {url!r} is not an http(s) URL")
        position, mentioned = _position_and_mention(row, cols, bad)
        if bad:
            problems.append(f"row {n}: " + "; ".join(bad))
            continue
        country = _cell(row, cols, "country").lower() or None
        key = (when, eng, _cell(row, cols, "surface") or given["surface"], prompt, country or "",
               _cell(row, cols, "answer_id"))
        obs = groups.get(key)
        if obs is None:
            obs = groups[key] = Observation(
                engine=eng, engine_kind="import", surface=key[2], query=prompt, page=index.page_for_query(prompt),
                topic=_cell(row, cols, "topic") or given["topic"] or index.topic_for_query(prompt) or "general",
                observed_at=when, brand_mentioned=mentioned, country=country,
                import_group=_sha(eng, key[2], prompt, key[4], when.isoformat(), key[5]))
            seen_urls[key] = set()
        elif mentioned:
            obs.brand_mentioned = True
        if not url:
            continue
        norm = normalize_url(url)
        if norm in seen_urls[key]:
            duplicates.append(n)
            continue
        seen_urls[key].add(norm)
        obs.cited.append(Cited(url, "citation", _cell(row, cols, "title") or None, position))
        slug = index.match(url)
        if slug:
            result.matched[slug] = result.matched.get(slug, 0) + 1
        else:
            result.unmatched += 1
    for key, obs in groups.items():
        obs.dedupe_key = _sha(obs.import_group or "", *sorted(seen_urls[key]))
    return groups, problems, duplicates


def _position_and_mention(row: list[str], cols: dict[str, int], bad: list[str]) -> tuple[int | None, bool | None]:
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
    return position, mentioned


def _write_citations(ledger: "Ledger", path: Path, preset: str, answers: list[Observation], index: PageIndex,
                     result: ImportResult) -> None:
    """One transaction: skip answers already there, extend a partial one, add the rest."""
    from sqlalchemy import select

    from citecast.citations.model import observation_row
    from citecast.ledger.citation_tables import CitedUrlRow, ObservationRow

    with ledger.session() as s:
        imp = _import_row(s, "citations", path, preset, result)
        existing: set[str] = set()
        partial: dict[str, list[ObservationRow]] = {}
        for chunk in range(0, len(answers), 500):
            part = answers[chunk:chunk + 500]
            existing |= set(s.scalars(select(ObservationRow.dedupe_key)
                                      .where(ObservationRow.dedupe_key.in_([o.dedupe_key for o in part]))))
            for row in s.scalars(select(ObservationRow)
                                 .where(ObservationRow.import_group.in_([o.import_group for o in part]))):
                partial.setdefault(row.import_group, []).append(row)
        for obs in answers:
            if obs.dedupe_key in existing:
                result.skipped += 1
                continue
            obs.cited.sort(key=lambda c: (c.position is None, c.position or 0))
            new = observation_row(obs, index, import_id=imp.id)
            urls = {c.normalized_url for c in new.cited}
            old = next((r for r in partial.get(obs.import_group, [])
                        if {c.normalized_url for c in r.cited if c.kind == "citation"} <= urls), None)
            if old is None:
                s.add(new)
                result.added += 1
                continue
            have = {c.normalized_url for c in old.cited}
            for c in new.cited:
                if c.normalized_url not in have:
                    old.cited.append(CitedUrlRow(kind=c.kind, position=c.position, url=c.url,
                                                 normalized_url=c.normalized_url, page=c.page, title=c.title))
            old.dedupe_key, old.brand_mentioned = obs.dedupe_key, old.brand_mentioned or obs.brand_mentioned
            result.extended += 1
        imp.added, imp.skipped = result.added + result.extended, result.skipped


# --- backlinks -------------------------------------------------------------------


def _follow(row: list[str], cols: dict[str, int]) -> bool | None:
    """True/False as the export says; None when it says nothing (the dofollow share counts only rows that say)."""
    if "nofollow" in cols and _cell(row, cols, "nofollow"):
        return not parse_bool(_cell(row, cols, "nofollow"))
    if "follow" in cols and _cell(row, cols, "follow"):
        return parse_bool(_cell(row, cols, "follow"))
    if "rel" in cols:
        rel = _cell(row, cols, "rel").lower()
        return not any(w in rel for w in ("nofollow", "ugc", "sponsored"))
    return None


def import_backlinks(ledger: "Ledger", path: Path, index: PageIndex, *, preset: str = "auto",
                     mapping: dict[str, str] | None = None, target: str | None = None,
                     date_format: str | None = None) -> ImportResult:
    """One link per normalised (source, target); a link already in the ledger is skipped (its earlier first-seen kept).

    The per-file notes say how many rows repeat a link and which rows have no
    first-seen date (such a link cannot start a page's clock).
    """
    file = str(path)
    if target and not is_url(target):
        raise ImportFailed(file, f"--target {target!r} is not an http(s) URL", [])
    header, rows = read_table(path)
    if not header:
        raise ImportFailed(file, "the file is empty", ["expected a header row: source_url, target_url, anchor, "
                                                       "first_seen, nofollow"])
    cols = resolve_columns(header, BACKLINK_FIELDS, preset, BACKLINK_PRESETS, mapping or {},
                           {"target_url"} if target else set(), file)
    result = ImportResult("backlinks", path.name, preset)
    order = None
    if not date_format:
        order, note = file_order(((n, _cell(row, cols, c)) for n, row in enumerate(rows, start=2)
                                  for c in ("first_seen", "last_seen")), file)
        result.notes += [note] if note else []
    links, problems, repeats, undated = _backlink_rows(rows, cols, index, result, preset, target, date_format, order)
    if problems:
        raise ImportFailed(file, f"{count(len(problems), 'bad row')}", problems)
    if repeats:
        result.notes.append(f"{count(repeats, 'row')} {plural('repeats', repeats)} a link (same source and target, normalised): counted once")
    if undated:
        result.notes.append(f"{count(len(undated), 'link')} without a first-seen date: rows "
                            + ", ".join(map(str, undated[:MAX_LISTED])) + (" ..." if len(undated) > MAX_LISTED else ""))
    for link in links.values():
        if link["page"]:
            result.matched[link["page"]] = result.matched.get(link["page"], 0) + 1
        else:
            result.unmatched += 1
    _write_backlinks(ledger, path, preset, links, result)
    return result


def _backlink_rows(rows: list[list[str]], cols: dict[str, int], index: PageIndex, result: ImportResult, preset: str,
                   target: str | None, date_format: str | None, order: str | None):
    problems: list[str] = []
    links: dict[tuple[str, str], dict[str, Any]] = {}
    repeats, undated = 0, []
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
                    dates[name] = parse_when(text, date_format, order).date()
                except ValueError as exc:
                    bad.append(f"{name.replace('_', ' ')}: {exc}")
        try:
            follow = _follow(row, cols)
        except ValueError as exc:
            bad.append(f"nofollow: {exc}")
        if bad:
            problems.append(f"row {n}: " + "; ".join(bad))
            continue
        key = (normalize_url(source), normalize_url(tgt))
        prior = links.get(key)
        if dates["first_seen"] is None:
            undated.append(n)
        if prior is not None:
            repeats += 1
            if prior["first_seen"] and (dates["first_seen"] is None or prior["first_seen"] <= dates["first_seen"]):
                continue
        links[key] = dict(source_url=source, source_domain=url_domain(source), target_url=tgt,
                          target_normalized=key[1], page=index.match(tgt), anchor=_cell(row, cols, "anchor"),
                          first_seen=dates["first_seen"], last_seen=dates["last_seen"], follow=follow, tool=preset)
    return links, problems, repeats, undated


def _write_backlinks(ledger: "Ledger", path: Path, preset: str, links: dict[tuple[str, str], dict[str, Any]],
                     result: ImportResult) -> None:
    from sqlalchemy import select

    from citecast.ledger.citation_tables import BacklinkRow

    with ledger.session() as s:
        imp = _import_row(s, "backlinks", path, preset, result)
        existing = {(normalize_url(r.source_url), r.target_normalized): r for r in s.scalars(select(BacklinkRow))}
        for key, link in links.items():
            old = existing.get(key)
            if old is not None:
                result.skipped += 1
                if link["first_seen"] and (old.first_seen is None or link["first_seen"] < old.first_seen):
                    old.first_seen = link["first_seen"]
                if old.follow is None and link["follow"] is not None:
                    old.follow = link["follow"]
                continue
            s.add(BacklinkRow(import_id=imp.id, **link))
            result.added += 1
        imp.added, imp.skipped = result.added, result.skipped


def citation_template() -> str:
    return "date,engine,prompt,cited_url,position\n2026-03-02,chatgpt,do backlinks still matter for AI citations,https://example.com/page,1\n"
