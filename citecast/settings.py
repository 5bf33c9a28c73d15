"""Settings from citecast.toml, each key overridable as CITECAST_<SECTION>__<KEY>.

The file is looked up as $CITECAST_CONFIG, else ./citecast.toml; relative paths
in it are resolved against the file's folder (the project root), so a run from
any working directory reads the same content and writes the same ledger.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)


Surface = Literal["api", "app", "import"]
EngineKind = Literal["openai_search", "perplexity", "gemini", "anthropic", "chat"]
GROUNDING_REDIRECT_PREFIX = "https://vertexaisearch.cloud.google.com/grounding-api-redirect/"


class EngineSettings(BaseModel):
    model_config = {"extra": "forbid"}

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


class Citations(BaseModel):
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



class Logs(BaseModel):
    """The `[logs]` table: access-log imports (`citecast import logs`)."""

    model_config = ConfigDict(extra="forbid")

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


class Site(BaseModel):
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


class Paths(BaseModel):
    content: Path = Path("content")
    templates: Path = Path("templates")
    outbox: Path = Path("outbox")
    state: Path = Path(".citecast")


class Ledger(BaseModel):
    url: str = ""  # empty: SQLite file in paths.state


class Distribution(BaseModel):
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
        unknown = [c for c in value if c not in KNOWN_CHANNELS]
        if unknown:
            raise ValueError(f"unknown channel(s) {unknown}: choose from {list(KNOWN_CHANNELS)}")
        return value


class LLM(BaseModel):
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


class Schedule(BaseModel):
    # Cron lines in the site's timezone (used by `citecast serve`; prefect.yaml has its own copy).
    distribution_cron: str = "0 9 * * 1"
    probe_cron: str = "0 6 * * *"
    report_cron: str = "0 12 * * 1"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="CITECAST_",
        env_nested_delimiter="__",
        extra="ignore",
    )

    site: Site = Field(default_factory=Site)
    paths: Paths = Field(default_factory=Paths)
    ledger: Ledger = Field(default_factory=Ledger)
    distribution: Distribution = Field(default_factory=Distribution)
    llm: LLM = Field(default_factory=LLM)
    schedule: Schedule = Field(default_factory=Schedule)
    citations: Citations = Field(default_factory=Citations)
    logs: Logs = Field(default_factory=Logs)
    channels: dict[str, dict[str, Any]] = Field(default_factory=dict)
    templates: dict[str, str] = Field(default_factory=dict)  # channel -> template file override

    root: Path = Path(".")  # set by load_settings, not read from the file

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_file = _config_file()
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if toml_file is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml_file))
        return tuple(sources)

    def path(self, name: str) -> Path:
        """A configured path, resolved against the project root."""
        p = Path(getattr(self.paths, name))
        return p if p.is_absolute() else (self.root / p)

    @property
    def ledger_url(self) -> str:
        if self.ledger.url:
            return self.ledger.url
        return f"sqlite:///{self.path('state') / 'ledger.db'}"

    def channel_options(self, channel: str) -> dict[str, Any]:
        return dict(self.channels.get(channel, {}))


def _config_file() -> Path | None:
    explicit = os.environ.get("CITECAST_CONFIG")
    if explicit:
        return Path(explicit)
    default = Path.cwd() / "citecast.toml"
    return default if default.exists() else None


class ConfigError(Exception):
    pass


def load_settings(**overrides: Any) -> Settings:
    """Read citecast.toml and the environment; raise ConfigError naming the bad key."""
    from pydantic import ValidationError

    cfg = _config_file()
    if cfg is not None and not cfg.exists():
        raise ConfigError(f"{cfg}: no such file (CITECAST_CONFIG points at it)")
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        where = str(cfg) if cfg else "environment"
        lines = [f"{where}: invalid settings"]
        for err in exc.errors():
            key = ".".join(str(p) for p in err["loc"])
            env = "CITECAST_" + "__".join(str(p).upper() for p in err["loc"][:2])
            lines.append(f"  {key}: {err['msg']} (set it in citecast.toml or {env})")
        raise ConfigError("\n".join(lines)) from None
    except Exception as exc:  # a TOML syntax error surfaces here
        raise ConfigError(f"{cfg}: cannot read settings: {exc}") from None
    settings.root = (cfg.parent if cfg else Path.cwd()).resolve()
    return settings
