"""Server access logs -> AI-crawler fetches and AI referral clicks on our pages.

Reads nginx/Apache combined logs, JSON lines (Caddy's access log, Cloudflare
Logpush, or any JSON with a field mapping) and W3C extended logs (CloudFront
standard logs, IIS), plain or gzipped, one line at a time: memory stays flat
whatever the size.

Per line: is the user agent an AI agent of the list (agents.py)? Else, did a
person arrive from an AI answer (the Referer's host is an AI engine's, or
`utm_source` names one)? The request path is matched to a page through the
same URL normalisation and previous URLs as citations. Hits on our pages are
stored one row each, keyed by a hash of the raw line and its occurrence among
identical lines, so importing a file again (or a rotated, gzipped copy of it)
adds nothing twice. Hits on other URLs are only counted, per import.
"""

from __future__ import annotations

import gzip
import hashlib
import itertools
import json
import re
from collections import OrderedDict, Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Callable, Iterator, Mapping
from urllib.parse import parse_qsl, unquote, unquote_plus

from citecast.citations.agents import UNKNOWN, AgentList, Verifier
from citecast.citations.model import PageIndex, normalize_url
from citecast.words import count, plural

if TYPE_CHECKING:
    from citecast.ledger.store import Ledger

# nginx/Apache "combined". Quoted fields allow backslash escapes (Apache writes \", nginx \x22);
# the unrolled form is ~4x faster than (?:[^"\\]|\\.)* and is what the benchmark's bare loop uses too.
_Q = r'"([^"\\]*(?:\\.[^"\\]*)*)"'
COMBINED = re.compile(rf'(\S+) \S+ \S+ \[([^\]]+)\] {_Q} (\d{{3}}) (\S+) {_Q} {_Q}')

FORMATS = ("auto", "combined", "json", "w3c")
# JSON field paths (dots into objects; a list takes its first item).
JSON_PRESETS: dict[str, dict[str, str]] = {
    # Caddy v2 access log, JSON encoder defaults.
    "caddy": {"ip": "request.client_ip|request.remote_ip", "time": "ts", "method": "request.method",
              "host": "request.host", "uri": "request.uri", "status": "status",
              "user_agent": "request.headers.User-Agent", "referer": "request.headers.Referer"},
    # Cloudflare Logpush, dataset http_requests (only the fields the job lists are present).
    "cloudflare": {"ip": "ClientIP", "time": "EdgeStartTimestamp", "method": "ClientRequestMethod",
                   "host": "ClientRequestHost", "uri": "ClientRequestURI", "status": "EdgeResponseStatus",
                   "user_agent": "ClientRequestUserAgent", "referer": "ClientRequestReferer"},
}
JSON_FIELDS = ("ip", "time", "method", "host", "uri", "status", "user_agent", "referer")
JSON_REQUIRED = ("time", "uri", "user_agent")
W3C_FIELDS = {  # our field -> W3C names, first present wins
    "date": ("date",), "time": ("time",), "ip": ("c-ip",), "method": ("cs-method",),
    "host": ("x-host-header", "cs-host", "cs(Host)", "s-computername"), "stem": ("cs-uri-stem",),
    "query": ("cs-uri-query",), "status": ("sc-status",), "user_agent": ("cs(User-Agent)",),
    "referer": ("cs(Referer)",),
}

# Where AI answer engines send people from: Referer host -> engine (subdomains match).
DEFAULT_REFERRERS = {
    "chatgpt.com": "chatgpt", "chat.openai.com": "chatgpt", "perplexity.ai": "perplexity",
    "gemini.google.com": "gemini", "bard.google.com": "gemini", "copilot.microsoft.com": "copilot",
    "claude.ai": "claude", "chat.mistral.ai": "mistral", "chat.deepseek.com": "deepseek",
    "you.com": "you", "meta.ai": "meta", "grok.com": "grok", "phind.com": "phind",
}
DEFAULT_UTM_SOURCES = {"chatgpt.com": "chatgpt", "perplexity": "perplexity", "perplexity.ai": "perplexity",
                       "copilot.com": "copilot", "claude.ai": "claude", "gemini": "gemini"}

MONTHS = {m: i for i, m in enumerate("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split(), 1)}
CACHE = 50_000  # entries per lookup cache (user agents, referers, paths): memory stays bounded
DUP_WINDOW = 10_000  # identical lines share a timestamp, so they sit within this many hits
BATCH = 2_000
MAX_EXAMPLES = 5
BAD_SHARE = 0.5  # more bad lines than this in the first PROBE lines: the format is wrong
PROBE = 1_000


class LogImportFailed(Exception):
    """A file that cannot be read as the format asked for; nothing of it was imported."""


@dataclass
class LogImportResult:
    file: str
    fmt: str
    lines: int = 0
    requests: int = 0
    bad: int = 0
    skipped: int = 0  # JSON entries that are not requests (runtime logs in the same file)
    bad_examples: list[str] = field(default_factory=list)
    fetches: int = 0  # AI-agent requests, any URL
    referrals: int = 0  # AI referral visits, any URL
    page_hits: int = 0  # of those, on our pages (stored)
    added: int = 0
    known: int = 0  # stored by an earlier import of the same lines
    by_agent: Counter = field(default_factory=Counter)  # (agent, class, verified) -> requests
    by_source: Counter = field(default_factory=Counter)  # engine -> referral visits
    by_page: Counter = field(default_factory=Counter)  # page -> stored hits
    agents_source: str = ""

    def summary(self) -> str:
        lines = [f"{self.file} ({self.fmt}): {count(self.lines, 'line')}, {count(self.requests, 'request')}, "
                 f"{self.fetches} by AI agents, {count(self.referrals, 'AI referral visit')}; "
                 f"{self.page_hits} on our pages: {self.added} added, {self.known} already imported"]
        if self.bad:
            lines.append(f"  {count(self.bad, 'line')} not in {self.fmt} format, e.g. " + "; ".join(self.bad_examples[:3]))
        for (agent, klass, verified), n in sorted(self.by_agent.items(), key=lambda kv: -kv[1])[:12]:
            lines.append(f"  {agent} ({klass}, {verified}): {n}")
        for source, n in sorted(self.by_source.items(), key=lambda kv: -kv[1]):
            lines.append(f"  referrals from {source}: {n}")
        for page, n in sorted(self.by_page.items()):
            lines.append(f"  page {page}: {count(n, 'hit')}")
        return "\n".join(lines)


# --- reading -------------------------------------------------------------------------


def open_log(path: Path) -> IO[str]:
    """Text lines of a plain or gzipped file (by its magic bytes, not its name)."""
    with open(path, "rb") as f:
        magic = f.read(2)
    if magic == b"\x1f\x8b":
        return gzip.open(path, "rt", encoding="utf-8", errors="replace", newline="")
    return open(path, encoding="utf-8", errors="replace", newline="")


def detect_format(first: str) -> tuple[str, str | None]:
    """(format, JSON preset) from the first non-empty line."""
    s = first.lstrip("\ufeff").strip()
    if s.startswith("#"):
        return "w3c", None
    if s.startswith("{"):
        if '"ClientRequestURI"' in s or '"EdgeStartTimestamp"' in s or '"ClientIP"' in s:
            return "json", "cloudflare"
        if '"request"' in s and ('"logger"' in s or '"uri"' in s):
            return "json", "caddy"
        return "json", None
    return "combined", None


def clf_time(s: str) -> datetime:
    """`10/Oct/2000:13:55:36 -0700` (sliced: strptime is ten times slower) -> UTC."""
    dt = datetime(int(s[7:11]), MONTHS[s[3:6]], int(s[0:2]), int(s[12:14]), int(s[15:17]), int(s[18:20]),
                  tzinfo=timezone.utc)
    if len(s) >= 26 and s[21] in "+-":
        minutes = int(s[22:24]) * 60 + int(s[24:26])
        dt -= timedelta(minutes=minutes if s[21] == "+" else -minutes)
    return dt


def any_time(value: Any) -> datetime:
    """A JSON timestamp: Unix seconds/ms/µs/ns by magnitude, ISO 8601 / RFC 3339, CLF, or Caddy's wall time."""
    if isinstance(value, int) and not isinstance(value, bool):
        for scale in (1, 1_000, 1_000_000, 1_000_000_000):
            if value // scale < 100_000_000_000:  # seconds until the year 5138
                whole, part = divmod(value, scale)  # integers: nanoseconds stay exact
                return datetime.fromtimestamp(whole, timezone.utc) + timedelta(microseconds=part * 1_000_000 // scale)
    if isinstance(value, float):
        for scale in (1, 1e3, 1e6, 1e9):
            if value / scale < 1e11:
                return datetime.fromtimestamp(value / scale, timezone.utc)
    if isinstance(value, str) and value.strip():
        s = value.strip()
        if re.fullmatch(r"\d+", s):
            return any_time(int(s))
        if re.fullmatch(r"\d+\.\d+", s):
            return any_time(float(s))
        if re.fullmatch(r"\d{2}/\w{3}/\d{4}:\d{2}:\d{2}:\d{2}( [+-]\d{4})?", s):
            return clf_time(s)
        try:
            ts = datetime.fromisoformat(s.replace("Z", "+00:00").replace("/", "-", 2))
        except ValueError:
            raise ValueError(f"{value!r} is not a time") from None
        return ts.replace(tzinfo=timezone.utc) if ts.tzinfo is None else ts.astimezone(timezone.utc)
    raise ValueError(f"{value!r} is not a time")


def _dig(obj: Any, path: str) -> Any:
    for alternative in path.split("|"):
        cur = obj
        for part in alternative.split("."):
            if isinstance(cur, list):
                cur = cur[0] if cur else None
            if not isinstance(cur, dict):
                cur = None
                break
            cur = cur.get(part)
        if isinstance(cur, list):
            cur = cur[0] if cur else None
        if cur not in (None, ""):
            return cur
    return None


# --- matching ----------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    """One request that is an AI agent's or an AI referral, before page matching."""

    ip: str
    when: Callable[[], datetime]
    method: str
    target: str  # path and query, or an absolute URL
    host: str | None
    status: int
    agent: Any  # Agent | None
    source: str  # the AI engine a person came from ("" for agent hits)
    via: str  # "" | referer | utm
    line: str


class Matcher:
    """The per-line decisions, each cached and bounded: agent of a UA, engine of a Referer, page of a path."""

    def __init__(self, agents: AgentList, index: PageIndex, site_host: str,
                 referrers: Mapping[str, str] | None = None, utm_sources: Mapping[str, str] | None = None):
        self.agents, self.index, self.site_host = agents, index, site_host
        self.referrers = {k.lower(): v for k, v in (referrers or DEFAULT_REFERRERS).items()}
        self.utm_sources = {k.lower(): v for k, v in (utm_sources or DEFAULT_UTM_SOURCES).items()}
        self.ua_cache: dict[str, Any] = {}
        self.ref_cache: dict[str, str] = {}
        self.page_cache: dict[tuple[str | None, str], tuple[str, str | None] | None] = {}

    def agent(self, ua: str):
        got = self.ua_cache.get(ua)
        if got is None:
            got = self.agents.find(ua) or False
            if len(self.ua_cache) >= CACHE:
                self.ua_cache.clear()
            self.ua_cache[ua] = got
        return got

    def referrer(self, ref: str) -> str:
        got = self.ref_cache.get(ref)
        if got is None:
            got = ""
            if ref.startswith(("http://", "https://")):
                host = ref.split("/", 3)[2].split(":", 1)[0].lower()
                while host:
                    got = self.referrers.get(host.removeprefix("www."), "")
                    if got or "." not in host:
                        break
                    host = host.split(".", 1)[1]
            if len(self.ref_cache) >= CACHE:
                self.ref_cache.clear()
            self.ref_cache[ref] = got
        return got

    def utm(self, target: str) -> str:
        query = target.split("?", 1)[1] if "?" in target else ""
        for k, v in parse_qsl(query, keep_blank_values=True):
            if k.lower() == "utm_source":
                return self.utm_sources.get(v.lower(), "")
        return ""

    def page(self, host: str | None, target: str) -> tuple[str, str | None] | None:
        """(normalized URL, page slug or None) of a request target; None when it is no web URL."""
        key = (host, target)
        if key in self.page_cache:
            return self.page_cache[key]
        if target.startswith(("http://", "https://")):
            url = target
        elif target.startswith("/"):
            url = f"https://{host or self.site_host}{target}"
        else:
            url = None
        got = None
        if url is not None:
            try:
                norm = normalize_url(url)
            except ValueError:
                norm = None
            if norm is not None:
                got = (norm, self.index.match(norm))
        if len(self.page_cache) >= CACHE:
            self.page_cache.clear()
        self.page_cache[key] = got
        return got


# --- the formats ---------------------------------------------------------------------
#
# Each scanner reads lines and yields a Candidate only for AI-agent requests and AI
# referrals; everything else costs one regex match (or one JSON parse) and a cache hit.


def scan_combined(lines: Iterator[str], matcher: Matcher, result: LogImportResult, file: str) -> Iterator[Candidate]:
    """The hot loop. Most lines are people and search engines whose user agent and referer were seen
    before: for them the two last quoted fields are cut out with two `rfind`s and looked up, and the
    line is done. The full regular expression runs only for the rest: new user agents or referers,
    AI agents and referrals, lines with escaped quotes, and anything that does not end in a quoted
    field (so a malformed line is still caught, unless it only breaks inside the request part)."""
    match = COMBINED.match
    ua_get, ref_get = matcher.ua_cache.get, matcher.ref_cache.get
    n = blank = fast = 0
    for n, line in enumerate(lines, 1):
        if n == PROBE:
            result.lines, result.requests = n - 1, n - 1 - result.bad - blank
            _check_format(result, file)
        k = line.rfind('" "')
        if k > 0:
            j = line.rfind('"', 0, k)
            if (ua_get(line[k + 3:line.rfind('"')]) is False and ref_get(line[j + 1:k]) == ""
                    and "utm_source=" not in line and "\\" not in line):
                fast += 1
                continue
        m = match(line)
        if m is None:
            if line.strip():
                _bad(result, f"line {n}: not a combined log line")
            else:
                blank += 1
            continue
        ref, ua = m.group(6, 7)
        agent = ua_get(ua)
        if agent is None:
            agent = matcher.agent(ua)
        source = via = ""
        if not agent:
            source = ref_get(ref)
            if source is None:
                source = matcher.referrer(ref)
            if source:
                via = "referer"
            elif "utm_source=" in line:
                source = matcher.utm(_request_target(m.group(3)))
                via = "utm" if source else ""
            if not source:
                continue
        ip, ts, request, status = m.group(1, 2, 3, 4)
        result.lines = n
        yield Candidate(ip, lambda ts=ts: clf_time(ts), request.partition(" ")[0], _request_target(request), None,
                        int(status), agent or None, source, via, line)
    result.lines, result.requests = n, n - result.bad - blank


def _request_target(request: str) -> str:
    parts = request.split(" ")
    return parts[1] if len(parts) >= 2 else ""


def scan_json(lines: Iterator[str], matcher: Matcher, result: LogImportResult,
              mapping: Mapping[str, str], file: str) -> Iterator[Candidate]:
    get = {name: mapping[name] for name in JSON_FIELDS if mapping.get(name)}
    for line in lines:
        result.lines += 1
        if result.lines == PROBE:
            _check_format(result, file)
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except ValueError:
            _bad(result, f"line {result.lines}: not JSON")
            continue
        if not isinstance(obj, dict):
            _bad(result, f"line {result.lines}: not a JSON object")
            continue
        uri = _dig(obj, get["uri"])
        if uri is None:
            result.skipped += 1  # e.g. Caddy's runtime log lines in the same file
            continue
        result.requests += 1
        ua = str(_dig(obj, get["user_agent"]) or "")
        agent = matcher.agent(ua)
        source = via = ""
        if not agent:
            source = matcher.referrer(str(_dig(obj, get["referer"]) or "")) if "referer" in get else ""
            via = "referer" if source else ""
            if not source and "utm_source=" in str(uri):
                source = matcher.utm(str(uri))
                via = "utm" if source else ""
            if not source:
                continue
        raw_time = _dig(obj, get["time"])
        try:
            status = int(_dig(obj, get["status"]) or 0) if "status" in get else 0
        except (TypeError, ValueError):
            status = 0
        host = _dig(obj, get["host"]) if "host" in get else None
        yield Candidate(str(_dig(obj, get["ip"]) or "") if "ip" in get else "", lambda t=raw_time: any_time(t),
                        str(_dig(obj, get["method"]) or "GET") if "method" in get else "GET", str(uri),
                        str(host) if host else None, status, agent or None, source, via, line)


def _w3c_columns(header: str, file: str) -> dict[str, int]:
    names = header.split(":", 1)[1].split()
    cols = {}
    for ours, theirs in W3C_FIELDS.items():
        for name in theirs:
            if name in names:
                cols[ours] = names.index(name)
                break
    missing = [f for f in ("date", "time", "stem", "user_agent") if f not in cols]
    if missing:
        raise LogImportFailed(f"{file}: the #Fields line lacks {', '.join(W3C_FIELDS[f][0] for f in missing)}; "
                              f"found: {' '.join(names)}")
    return cols


def scan_w3c(lines: Iterator[str], matcher: Matcher, result: LogImportResult, file: str) -> Iterator[Candidate]:
    cols: dict[str, int] | None = None
    for line in lines:
        result.lines += 1
        if result.lines == PROBE:
            _check_format(result, file)
        if line.startswith("#"):
            if line.startswith("#Fields:"):
                cols = _w3c_columns(line, file)
            continue
        if not line.strip():
            continue
        if cols is None:
            raise LogImportFailed(f"{file}: a W3C log needs its '#Fields:' line before the first record "
                                  "(CloudFront and IIS write it at the top of each file)")
        # CloudFront separates with tabs and URL-encodes; IIS uses spaces and '+' for spaces.
        tab = "\t" in line
        values = line.rstrip("\r\n").split("\t" if tab else " ")
        if len(values) <= max(cols.values()):
            _bad(result, f"line {result.lines}: {count(len(values), 'field')}, the #Fields line names more")
            continue
        result.requests += 1
        decode = unquote if tab else unquote_plus
        ua = decode(values[cols["user_agent"]])
        agent = matcher.agent(ua)
        query = values[cols["query"]] if "query" in cols else "-"
        target = values[cols["stem"]] + ("" if query in ("-", "") else "?" + query)
        source = via = ""
        if not agent:
            ref = decode(values[cols["referer"]]) if "referer" in cols else "-"
            source = matcher.referrer(ref)
            via = "referer" if source else ""
            if not source and "utm_source=" in query:
                source = matcher.utm(target)
                via = "utm" if source else ""
            if not source:
                continue
        stamp = f"{values[cols['date']]}T{values[cols['time']]}"
        host = values[cols["host"]] if "host" in cols and values[cols["host"]] not in ("-", "") else None
        status = values[cols["status"]] if "status" in cols else "0"
        yield Candidate(values[cols["ip"]] if "ip" in cols else "", lambda s=stamp: any_time(s),
                        values[cols["method"]] if "method" in cols else "GET", target, host,
                        int(status) if status.isdigit() else 0, agent or None, source, via, line)


def _bad(result: LogImportResult, reason: str) -> None:
    result.bad += 1
    if len(result.bad_examples) < MAX_EXAMPLES:
        result.bad_examples.append(reason)


# --- importing ---------------------------------------------------------------------


@dataclass
class LogOptions:
    fmt: str = "auto"
    preset: str | None = None
    mapping: dict[str, str] = field(default_factory=dict)


def json_mapping(preset: str | None, mapping: Mapping[str, str], file: str) -> dict[str, str]:
    if preset is not None and preset not in JSON_PRESETS:
        raise LogImportFailed(f"{file}: unknown JSON preset {preset!r}; presets: {', '.join(JSON_PRESETS)}")
    unknown = set(mapping) - set(JSON_FIELDS)
    if unknown:
        raise LogImportFailed(f"{file}: unknown {plural('field', len(unknown))} in --map: {sorted(unknown)}; fields: {', '.join(JSON_FIELDS)}")
    got = {**JSON_PRESETS.get(preset or "", {}), **mapping}
    missing = [f for f in JSON_REQUIRED if not got.get(f)]
    if missing:
        raise LogImportFailed(
            f"{file}: JSON lines need a field mapping for {', '.join(missing)}: pass --preset caddy|cloudflare "
            "or --map field=path, e.g. --map uri=request.uri --map user_agent=request.headers.User-Agent --map time=ts")
    return got


class LogImporter:
    """Imports log files into the ledger; one file is one transaction, one bad file stops no other."""

    def __init__(self, ledger: "Ledger", matcher: Matcher, verifier: Verifier | None = None):
        self.ledger, self.matcher = ledger, matcher
        self.verifier = verifier or Verifier()

    def import_file(self, path: Path, options: LogOptions | None = None) -> LogImportResult:
        options = options or LogOptions()
        file = str(path)
        if options.fmt not in FORMATS:
            raise LogImportFailed(f"{file}: unknown format {options.fmt!r}; formats: {', '.join(FORMATS)}")
        try:
            stream = open_log(path)
        except OSError as exc:
            raise LogImportFailed(f"{file}: cannot read ({exc.strerror})") from None
        with stream:
            first = _peek(stream)
            fmt, preset = detect_format(first) if options.fmt == "auto" else (options.fmt, None)
            preset = options.preset or preset
            lines = _chain(first, stream)
            result = LogImportResult(Path(path).name, fmt + (f"/{preset}" if preset else ""),
                                     agents_source=self.matcher.agents.source)
            if fmt == "combined":
                candidates = scan_combined(lines, self.matcher, result, file)
            elif fmt == "json":
                candidates = scan_json(lines, self.matcher, result, json_mapping(preset, options.mapping, file), file)
            else:
                candidates = scan_w3c(lines, self.matcher, result, file)
            try:
                self._store(candidates, result, path)
            except (EOFError, gzip.BadGzipFile, OSError) as exc:
                raise LogImportFailed(f"{file}: the file ends early or is damaged ({exc}); nothing was imported") from None
        return result

    def _store(self, candidates: Iterator[Candidate], result: LogImportResult, path: Path) -> None:
        from sqlalchemy import func, select

        from citecast.ledger.log_tables import LogHitRow, LogImportRow, insert_ignoring_duplicates

        with self.ledger.session() as s:
            imp = LogImportRow(file_name=result.file, file_size=_size(path), fmt=result.fmt,
                               agents_source=result.agents_source[:300])
            s.add(imp)
            s.flush()
            batch: list[dict[str, Any]] = []
            recent: OrderedDict[bytes, int] = OrderedDict()
            for c in candidates:
                row = self._row(c, result, recent, imp.id)
                if row is not None:
                    batch.append(row)
                    if len(batch) >= BATCH:
                        insert_ignoring_duplicates(s, batch)
                        batch.clear()
            _check_format(result, str(path), final=True)
            if batch:
                insert_ignoring_duplicates(s, batch)
            result.added = s.scalar(select(func.count()).select_from(LogHitRow).where(LogHitRow.import_id == imp.id))
            result.known = result.page_hits - result.added
            imp.finish(result)

    def _row(self, c: Candidate, result: LogImportResult, recent: OrderedDict, import_id: int) -> dict | None:
        if c.agent is not None:
            verified = self.verifier.status(c.agent.name, c.ip)
            result.fetches += 1
            result.by_agent[(c.agent.name, c.agent.klass, verified)] += 1
        else:
            verified = UNKNOWN
            result.referrals += 1
            result.by_source[c.source] += 1
            if c.method not in ("GET", "HEAD"):
                return None
        found = self.matcher.page(c.host, c.target)
        if found is None or found[1] is None:
            return None
        try:
            when = c.when()
        except (ValueError, KeyError, IndexError, OverflowError):
            _bad(result, f"line {result.lines}: bad time")
            return None
        result.page_hits += 1
        result.by_page[found[1]] += 1
        digest = hashlib.blake2b(c.line.rstrip("\r\n").encode("utf-8", "replace"), digest_size=8).digest()
        occurrence = recent.get(digest, 0)
        recent[digest] = occurrence + 1
        if len(recent) > DUP_WINDOW:
            recent.popitem(last=False)
        return dict(
            line_hash=int.from_bytes(digest, "big", signed=True), occurrence=occurrence, import_id=import_id,
            kind="fetch" if c.agent is not None else "referral", at=when,
            agent=c.agent.name if c.agent is not None else c.source,
            agent_class=c.agent.klass if c.agent is not None else "", operator=c.agent.operator if c.agent else "",
            verified=verified, via=c.via, ip=c.ip[:45], method=c.method[:10], status=c.status,
            normalized_url=found[0], page=found[1],
        )


def _check_format(result: LogImportResult, file: str, final: bool = False) -> None:
    """Stop when most lines are not in the format (checked at line PROBE and at the end): a wrong
    --format, not a few bad lines."""
    looked = result.requests + result.bad
    if looked == 0:
        if final and result.lines and not result.skipped:
            raise LogImportFailed(f"{file}: no request lines found ({count(result.lines, 'line')})")
        return
    if result.bad / looked > BAD_SHARE:
        example = "; ".join(result.bad_examples[:2])
        raise LogImportFailed(
            f"{file}: {result.bad} of the first {looked} lines are not {result.fmt} ({example}); "
            "nothing was imported. Pass the format: --format combined|json|w3c (JSON: --preset caddy|cloudflare "
            "or --map field=path)")


def _peek(stream: IO[str]) -> str:
    for line in stream:
        if line.strip():
            return line
    return ""


def _chain(first: str, rest: IO[str]) -> Iterator[str]:
    return itertools.chain((first,) if first else (), rest)


def _size(path: Path) -> int:
    try:
        return Path(path).stat().st_size
    except OSError:
        return 0
