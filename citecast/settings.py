"""Settings from citecast.toml, each key overridable as CITECAST_<SECTION>__<KEY>.

The file is looked up as $CITECAST_CONFIG, else ./citecast.toml; relative paths
in it are resolved against the file's folder (the project root), so a run from
any working directory reads the same content and writes the same ledger.

Unknown keys are errors, in the file and in CITECAST_* variables alike: each is
reported with the file and line (or the variable) and the nearest valid key.
The file and the environment are read here rather than by pydantic-settings:
its env source silently drops variables that match no field, and importing it
cost `citecast check` more start-up time than the rest of the settings.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Collection, Iterator, Literal, Mapping, get_args, get_origin
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator


class Table(BaseModel):
    """A table of citecast.toml: unknown keys are errors, never silently ignored."""

    model_config = ConfigDict(extra="forbid")


Surface = Literal["api", "app", "import"]
EngineKind = Literal["openai_search", "perplexity", "gemini", "anthropic", "chat"]
GROUNDING_REDIRECT_PREFIX = "https://vertexaisearch.cloud.google.com/grounding-api-redirect/"


class EngineSettings(Table):
    kind: EngineKind
    model: str
    # Empty: the SDK default (OPENAI_BASE_URL else api.openai.com; ANTHROPIC_BASE_URL else
    # api.anthropic.com; generativelanguage.googleapis.com for gemini).
    base_url: str = ""
    # Empty: OPENAI_API_KEY, PERPLEXITY_API_KEY, GEMINI_API_KEY or ANTHROPIC_API_KEY by kind.
    api_key_env: str = ""
    enabled: bool = True
    include_sources: bool = True  # openai_search: also log the consulted sources
    api: Literal["chat", "responses"] = "chat"  # perplexity: Sonar chat completions or the Agent API
    max_tokens: int = Field(1024, ge=1)  # anthropic: answer length cap (the API requires one)
    max_uses: int | None = Field(5, ge=1)  # anthropic: searches per answer
    # USD prices for the cost of each answer; unset: cost unknown (Perplexity states its own).
    input_per_mtok: float | None = Field(None, ge=0)
    output_per_mtok: float | None = Field(None, ge=0)
    per_search: float | None = Field(None, ge=0)  # per search query run (Gemini 3 bills per query)


def _default_engines() -> dict[str, EngineSettings]:
    return {
        "openai": EngineSettings(kind="openai_search", model="gpt-4.1-mini"),
        "perplexity": EngineSettings(kind="perplexity", model="sonar", base_url="https://api.perplexity.ai"),
        "gemini": EngineSettings(kind="gemini", model="gemini-3.5-flash"),
        "anthropic": EngineSettings(kind="anthropic", model="claude-sonnet-4-6"),
    }


class Citations(Table):
    """The `[citations]` table of citecast.toml."""

    engines: dict[str, EngineSettings] = Field(default_factory=_default_engines)
    samples: int = Field(3, ge=1)  # answers per query per engine and run: they vary run to run
    concurrency: int = Field(4, ge=1)
    timeout_seconds: float = Field(60.0, gt=0)
    max_retries: int = Field(2, ge=0)
    queries_dir: Path = Path("queries")  # <topic>.txt, one query a line, beside pages' queries
    freshness_days: list[int] = Field(default_factory=lambda: [30, 90, 180, 365])
    # The comparison (docs/citations.md): no verdict below these, only "not enough data yet".
    min_pages_per_arm: int = Field(5, ge=2)  # pages per cohort, in topics that hold both cohorts
    min_rounds: int = Field(3, ge=1)  # weekly rounds with answers
    min_effect: float = Field(0.10, gt=0, lt=1)  # smallest difference in citation rate worth finding (power)
    comparisons: list[tuple[str, str]] = Field(default_factory=lambda: [
        ("distribution", "links"), ("distribution", "control"), ("links", "control"), ("both", "control")])
    drill_down_answers: int = Field(10, ge=0)  # citing answers listed per page in the report
    top_competitors: int = Field(10, ge=1)  # domains and URLs per topic in share of voice
    report_dir: Path = Path("reports")
    # What the ledger keeps of each answer: a bounded excerpt, all of it, or nothing (hash only).
    keep_answer: Literal["excerpt", "full", "none"] = "excerpt"
    answer_excerpt_chars: int = Field(1000, ge=50)
    # Gemini's grounding links are resolved (one HEAD, never the page) only under these prefixes.
    redirect_prefixes: list[str] = Field(default_factory=lambda: [GROUNDING_REDIRECT_PREFIX])



class Logs(Table):
    """The `[logs]` table: access-log imports (`citecast import logs`)."""

    # Where `citecast logs refresh-agents` downloads ai.robots.txt's robots.json from.
    agents_url: str = "https://raw.githubusercontent.com/ai-robots-txt/ai.robots.txt/main/robots.json"
    # Agent name -> training | search | user | other, for agents the list leaves unclear.
    agent_classes: dict[str, Literal["training", "search", "user", "other"]] = Field(default_factory=dict)
    # Agent name -> the operator's published IP ranges (e.g. GPTBot = "ranges/gptbot.json").
    ip_ranges: dict[str, Path] = Field(default_factory=dict)
    # Referer host -> AI engine, and utm_source value -> AI engine; empty: citecast's defaults.
    referrers: dict[str, str] = Field(default_factory=dict)
    utm_sources: dict[str, str] = Field(default_factory=dict)


Cadence = Literal["weekly", "biweekly", "monthly", "once"]
CADENCE_WEEKS: dict[str, int | None] = {"weekly": 1, "biweekly": 2, "monthly": 4, "once": None}
KNOWN_CHANNELS = ("x", "linkedin", "reddit", "bluesky", "mastodon")


def check_channel_names(names: list[str], hint: str = "") -> list[str]:
    """`names` when each is one of citecast's channels, else a ValueError naming the others
    (a page's `channels:` and settings' distribution.channels alike)."""
    unknown = [c for c in names if c not in KNOWN_CHANNELS]
    if unknown:
        raise ValueError(f"unknown channel{'s' if len(unknown) > 1 else ''} {unknown}{hint}")
    return names


class Site(Table):
    name: str = "citecast"
    # The site's full base URL (Jekyll url + baseurl, Hugo baseURL, Astro site + base).
    # Left out, it is read from the generator's own config.
    base_url: str = "https://example.com"
    timezone: str = "UTC"
    brand_names: list[str] = Field(default_factory=list)
    # Which generator builds the site: "auto" finds its config above the content folder.
    generator: Literal["auto", "jekyll", "hugo", "astro", "plain"] = "auto"
    # URL rule with the generator's own placeholders; empty: the generator's config or default.
    permalink: str = ""
    # Per Jekyll collection / Hugo section / Astro collection rules, e.g. {blog = "/blog/:slug/"}.
    permalinks: dict[str, str] = Field(default_factory=dict)
    # Build future-dated pages (Jekyll `future`, Hugo `buildFuture`); unset: the generator's config.
    future: bool | None = None

    @field_validator("base_url")
    @classmethod
    def _absolute_base(cls, value: str) -> str:
        # Checked here, once: a bare host would otherwise surface as every derived page's bad canonical_url.
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"{value!r} is not an absolute http(s) URL: write the site's full base, "
                             "e.g. 'https://example.com' or 'https://example.com/blog'")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown timezone {value!r}: use an IANA name such as 'Europe/Berlin'")
        return value

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class Paths(Table):
    content: Path = Path("content")
    templates: Path = Path("templates")
    outbox: Path = Path("outbox")
    state: Path = Path(".citecast")


class Ledger(Table):
    url: str = ""  # empty: SQLite file in paths.state


class Distribution(Table):
    channels: list[str] = Field(default_factory=lambda: ["x", "linkedin", "reddit"])
    max_pages_per_week: int = Field(5, ge=0)
    cadence: Cadence = "weekly"
    # Query parameters appended to the canonical URL per channel; "{channel}" is replaced.
    utm: dict[str, str] = Field(default_factory=dict)
    # Seconds between two posts on one channel, and posts per channel per day (0: no cap).
    min_gap_seconds: float = Field(0.0, ge=0)
    daily_cap: int = Field(0, ge=0)
    # After a channel's posts, how long a run may wait for grace periods to end so that posts whose
    # outcome was unknown are settled in the same run (the rest are settled by the next run).
    settle_wait_seconds: float = Field(90.0, ge=0)

    @field_validator("channels")
    @classmethod
    def _known_channels(cls, value: list[str]) -> list[str]:
        return check_channel_names(value, f": choose from {list(KNOWN_CHANNELS)}")


class LLM(Table):
    model: str = ""  # empty: the offline generator writes every draft
    base_url: str = ""  # empty: OPENAI_BASE_URL, else OpenAI
    concurrency: int = Field(8, ge=1)
    timeout_seconds: float = Field(60.0, gt=0)
    max_retries: int = Field(2, ge=0)
    repair_attempts: int = Field(1, ge=0)
    json_mode: Literal["auto", "schema", "json_object"] = "auto"
    price_in_per_mtok: float = 0.0
    price_out_per_mtok: float = 0.0
    allowed_hashtags: list[str] = Field(default_factory=list)
    allowed_handles: list[str] = Field(default_factory=list)
    # Bounds (docs/llm.md): output cap per request, time per page, tokens and dollars per run.
    max_output_tokens: int = Field(0, ge=0)  # 0: derived from the channels' limits
    max_chars_per_channel: int = Field(6000, ge=280)  # the most text one channel's draft may take
    token_limit_param: Literal["auto", "max_completion_tokens", "max_tokens", "both"] = "auto"
    page_deadline_seconds: float = Field(0.0, ge=0)  # 0: twice timeout_seconds
    budget_tokens: int = Field(2_000_000, ge=0)  # per run; 0: no limit
    budget_usd: float = Field(5.0, ge=0)  # per run, by the prices above; 0: no limit

    def page_deadline(self) -> float:
        """Seconds one page may take, every attempt, back-off and repair included."""
        return self.page_deadline_seconds or 2 * self.timeout_seconds


class Schedule(Table):
    # Cron lines in the site's timezone (used by `citecast serve`; prefect.yaml has its own copy).
    distribution_cron: str = "0 9 * * 1"
    probe_cron: str = "0 6 * * *"
    report_cron: str = "0 12 * * 1"
    engagement_cron: str = "0 7 * * *"  # daily: each +1/+7/+28-day snapshot within a day of being due


# The generators' config files (citecast.pages.generators reads them; settings only looks).
_SITE_CONFIGS = ("_config.yml", "_config.yaml", "hugo.toml", "hugo.yaml", "hugo.json",
                 "astro.config.mjs", "astro.config.ts", "astro.config.js", "astro.config.mts", "astro.config.cjs")


def _is_site_root(folder: Path) -> bool:
    return any((folder / name).is_file() for name in _SITE_CONFIGS)


class Settings(Table):
    site: Site = Field(default_factory=Site)
    paths: Paths = Field(default_factory=Paths)
    ledger: Ledger = Field(default_factory=Ledger)
    distribution: Distribution = Field(default_factory=Distribution)
    llm: LLM = Field(default_factory=LLM)
    schedule: Schedule = Field(default_factory=Schedule)
    citations: Citations = Field(default_factory=Citations)
    logs: Logs = Field(default_factory=Logs)
    channels: dict[str, dict[str, Any]] = Field(default_factory=dict)  # options per adapter, checked by it
    templates: dict[str, str] = Field(default_factory=dict)  # channel -> template file override

    root: Path = Path(".")  # set by load_settings, not read from the file
    # Where each key came from: the config file, or (for these dotted keys) a CITECAST_* variable.
    _file: Path | None = PrivateAttr(default=None)
    _from_env: dict[tuple[str, ...], str] = PrivateAttr(default_factory=dict)

    def path(self, name: str) -> Path:
        """A configured path, resolved against the project root."""
        p = Path(getattr(self.paths, name))
        if name == "content" and "content" not in self.paths.model_fields_set and not (self.root / p).is_dir() \
                and _is_site_root(self.root):
            # No citecast.toml, run from a Jekyll or Astro site's root (Hugo's pages are in content/):
            # the site is the content folder, as `content = "."` would say.
            return self.root
        return p if p.is_absolute() else (self.root / p)

    @property
    def ledger_url(self) -> str:
        if self.ledger.url:
            return self.ledger.url
        return f"sqlite:///{self.path('state') / 'ledger.db'}"

    def channel_options(self, channel: str) -> dict[str, Any]:
        return dict(self.channels.get(channel, {}))

    def check_channel_options(self, known: Mapping[str, Collection[str]]) -> None:
        """Raise ConfigError for [channels.<name>] keys that channel's adapter does not read.

        `known` maps a channel name to the option keys its adapter reads; the
        channels know that, settings import nothing of theirs, so callers pass it in.
        """
        problems = []
        for name, options in sorted(self.channels.items()):
            valid = known.get(name)
            if valid is None:
                continue
            for key in sorted(set(options) - set(valid)):
                problems.append(_unknown_key(("channels", name, key), sorted(valid), self._file, self._from_env))
        if problems:
            raise ConfigError(problems)


#: top-level tables whose keys are channel names
_KEYED_BY_CHANNEL = ("channels", "templates")
#: keys of Settings that are not settings (set by load_settings)
_NOT_SETTINGS = ("root",)
#: CITECAST_* variables that are not settings keys
ENV_NOT_SETTINGS = ("CITECAST_CONFIG",)


class _Unknown(Exception):
    def __init__(self, valid: list[str]):
        self.valid = valid


def _child(annotation: Any, key: str, path: tuple[str, ...]) -> Any:
    """The type of `key` inside a value of type `annotation`; _Unknown if it has no such key."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        fields = [f for f in annotation.model_fields if not (annotation is Settings and f in _NOT_SETTINGS)]
        if key not in fields:
            raise _Unknown(fields)
        return annotation.model_fields[key].annotation
    if get_origin(annotation) is dict:
        if path in [(t,) for t in _KEYED_BY_CHANNEL] and key not in KNOWN_CHANNELS:
            raise _Unknown(list(KNOWN_CHANNELS))
        return get_args(annotation)[1]
    if annotation is Any:
        return Any
    raise _Unknown([])  # a scalar or a list has no keys


def _is_table(annotation: Any) -> bool:
    return get_origin(annotation) is dict or (isinstance(annotation, type) and issubclass(annotation, BaseModel))


def _unknown_in(data: dict, annotation: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], list[str]]]:
    """(dotted key, valid keys beside it) for every key of `data` the settings do not have."""
    for key, value in data.items():
        try:
            child = _child(annotation, key, path)
        except _Unknown as exc:
            yield (*path, key), exc.valid
            continue
        if isinstance(value, dict) and _is_table(child):
            yield from _unknown_in(value, child, (*path, key))


def nearest(word: str, choices: Collection[str]) -> str | None:
    """The choice closest to a misspelt word, if any is close."""
    import difflib

    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return close[0] if close else None


def env_name(path: tuple[str, ...]) -> str:
    return "CITECAST_" + "__".join(p.upper() for p in path)


def _unknown_key(path: tuple[str, ...], valid: list[str], file: Path | None,
                 from_env: Mapping[tuple[str, ...], str]) -> str:
    """One line, like a compiler's: where, the key, and the nearest valid key."""
    key = ".".join(path)
    guess = nearest(path[-1], valid)
    if path in from_env:
        where = from_env[path]
        fix = f"did you mean {env_name((*path[:-1], guess))}?" if guess else None
    else:
        where = _where_in_file(file, path)
        fix = f"did you mean {'.'.join((*path[:-1], guess))}?" if guess else None
    if fix is None:
        fix = f"valid keys here: {', '.join(valid)}" if valid else f"{'.'.join(path[:-1])} has no keys"
    return f"{where}: error: {key}: unknown setting (fix: {fix})"


def _where_in_file(file: Path | None, path: tuple[str, ...]) -> str:
    if file is None:
        return "settings"
    line = _toml_line(file, path)
    return f"{file}:{line}" if line else str(file)


def _toml_line(file: Path, path: tuple[str, ...]) -> int | None:
    """The line of a dotted key in a TOML file, found by its table header and key (best effort)."""
    try:
        lines = file.read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    table = ""
    for number, raw in enumerate(lines, 1):
        text = raw.split("#", 1)[0].strip()
        if text.startswith("["):
            table = text.strip("[] ").replace(" ", "").replace('"', "")
            if tuple(table.split(".")) == path:
                return number
            continue
        if "=" not in text:
            continue
        key = text.split("=", 1)[0].strip().replace(" ", "").replace('"', "")
        full = tuple(p for p in (table.split(".") if table else []) + key.split("."))
        if full[:len(path)] == path:
            return number
    return None


def _config_file() -> Path | None:
    explicit = os.environ.get("CITECAST_CONFIG")
    if explicit:
        return Path(explicit)
    default = Path.cwd() / "citecast.toml"
    return default if default.exists() else None


class ConfigError(Exception):
    """Bad settings: one line per problem, each naming where it is and the fix."""

    def __init__(self, problems: str | list[str]):
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("\n".join(self.problems))


def _read_file(cfg: Path) -> dict[str, Any]:
    import tomllib

    try:
        with cfg.open("rb") as fh:
            return tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{cfg}: error: cannot read settings: {exc} (fix: correct the TOML syntax)") from None


def _read_env(environ: Mapping[str, str]) -> tuple[dict[str, Any], dict[tuple[str, ...], str], list[str]]:
    """CITECAST_<SECTION>__<KEY> variables as nested settings: (data, key -> variable, problems).

    Every variable with the prefix must name a setting: a misspelt one would
    otherwise be ignored and the run would quietly use the file's value.
    """
    import json

    data: dict[str, Any] = {}
    names: dict[tuple[str, ...], str] = {}
    problems: list[str] = []
    for name in sorted(environ):
        if not name.upper().startswith("CITECAST_") or name.upper() in ENV_NOT_SETTINGS:
            continue
        path = tuple(name[len("CITECAST_"):].lower().split("__"))
        annotation: Any = Settings
        for i, part in enumerate(path):
            try:
                annotation = _child(annotation, part, path[:i])
            except _Unknown as exc:
                problem = _unknown_key(path[:i + 1], exc.valid, None, {path[:i + 1]: name})
                split = _split_guess(path[:i], part, exc.valid)
                if split:  # CITECAST_SITE_NAME for CITECAST_SITE__NAME
                    problem = problem.rsplit(" (fix: ", 1)[0] + f" (fix: did you mean {split}? " \
                        "a section and its key are separated by two underscores)"
                problems.append(problem)
                break
        else:
            value: Any = environ[name]
            if _is_table(annotation) or get_origin(annotation) in (list, tuple, set):
                try:
                    value = json.loads(value)
                except ValueError:
                    problems.append(f"{name}: error: {'.'.join(path)}: not valid JSON "
                                    f"(fix: give a JSON {'list' if get_origin(annotation) in (list, tuple, set) else 'object'}, "
                                    f"or set the keys one by one as {name}__<KEY>)")
                    continue
            node = data
            for part in path[:-1]:
                node = node.setdefault(part, {})
            node[path[-1]] = value
            names[path] = name
    return data, names, problems


def _split_guess(parent: tuple[str, ...], part: str, valid: list[str]) -> str | None:
    """The variable meant when one underscore stands where two belong, if that names a setting."""
    for i, char in enumerate(part):
        if char == "_" and part[:i] in valid:
            candidate = (*parent, part[:i], part[i + 1:])
            annotation: Any = Settings
            try:
                for n, step in enumerate(candidate):
                    annotation = _child(annotation, step, candidate[:n])
            except _Unknown:
                continue
            return env_name(candidate)
    return None


def _merge(base: dict[str, Any], top: Mapping[str, Any]) -> dict[str, Any]:
    """`top` over `base`, table by table (a variable overrides one key, not its whole table)."""
    out = dict(base)
    for key, value in top.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _invalid(exc: Any, file: Path | None, from_env: Mapping[tuple[str, ...], str]) -> list[str]:
    lines = []
    for err in exc.errors():
        loc = tuple(str(p) for p in err["loc"])
        source = next((from_env[loc[:n]] for n in range(len(loc), 0, -1) if loc[:n] in from_env), None)
        where = source or _where_in_file(file, loc)
        if err["type"] == "extra_forbidden":  # only through load_settings(**overrides)
            lines.append(f"{where}: error: {'.'.join(loc)}: unknown setting (fix: remove it)")
            continue
        message = err["msg"].removeprefix("Value error, ")  # pydantic's prefix on our own validators' words
        lines.append(f"{where}: error: {'.'.join(loc)}: {message} "
                     f"(fix: set it in {file.name if file else 'citecast.toml'} or {env_name(loc[:2])})")
    return lines


def load_settings(**overrides: Any) -> Settings:
    """Read citecast.toml and the environment; raise ConfigError naming each bad key."""
    from pydantic import ValidationError

    cfg = _config_file()
    if cfg is not None and not cfg.exists():
        raise ConfigError(f"{cfg}: error: no such file (fix: CITECAST_CONFIG points at it; correct or unset it)")
    file_data = _read_file(cfg) if cfg is not None else {}
    env_data, from_env, problems = _read_env(os.environ)
    problems = [_unknown_key(path, valid, cfg, {}) for path, valid in _unknown_in(file_data, Settings)] + problems
    if problems:
        raise ConfigError(problems)
    try:
        settings = Settings.model_validate(_merge(_merge(file_data, env_data), overrides))
    except ValidationError as exc:
        raise ConfigError(_invalid(exc, cfg, from_env)) from None
    settings.root = (cfg.parent if cfg else Path.cwd()).resolve()
    settings._file = cfg
    settings._from_env = from_env
    return settings
