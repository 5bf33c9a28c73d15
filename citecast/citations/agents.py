"""AI agents in access logs: which user agent is whose, what it fetches for, and whether it is real.

The list is the ai.robots.txt project's `robots.json` (agent name -> operator,
respect, function, frequency, description), kept current with
`citecast logs refresh-agents`, which stores it in the state folder. Until the
first refresh a small seed in the same schema ships with citecast
(`data/ai_agents.json`, our own entries for the agents the funnel needs most).

Each agent gets one class from its own entry (`classify`):

    training  collects pages to train models (GPTBot, ClaudeBot, CCBot, ...)
    search    indexes pages for an AI search engine (OAI-SearchBot, PerplexityBot, ...)
    user      fetches a page because a person asked an assistant (ChatGPT-User, ...)
    other     the entry does not say which (Amazonbot, ...); `[logs] agent_classes` can decide

User agents are spoofed, so a hit is `verified` only when its IP lies in the
ranges its operator publishes (OpenAI's gptbot.json / searchbot.json /
chatgpt-user.json, Perplexity's perplexitybot.json / perplexity-user.json),
`unverified` when ranges were given for that agent and the IP is outside them,
and `unknown` when none were given.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path
from typing import Any, Iterable, Mapping
from citecast.words import count, plural

CLASSES = ("training", "search", "user", "other")
SEED = "ai_agents.json"
STATE_FILE = "robots.json"
DEFAULT_URL = "https://raw.githubusercontent.com/ai-robots-txt/ai.robots.txt/main/robots.json"
MIN_AGENTS = 20  # a download with fewer is an error page or a truncated file, not the list

# Categories knownagents.com uses, which robots.json copies into `function`.
_USER_CATEGORIES = {"ai assistants", "ai agents", "ai coding agents"}
_TRAINING_CATEGORIES = {"ai data scrapers", "ai data providers"}


class AgentListError(Exception):
    """A robots.json that cannot be used; the message names the file and what is wrong."""


def classify(entry: Mapping[str, Any]) -> str:
    """training | search | user | other, from the entry's function and frequency."""
    function = str(entry.get("function") or "").strip().lower()
    frequency = str(entry.get("frequency") or "").strip().lower()
    if (function in _USER_CATEGORIES or "user-initiated" in function or "user prompt" in function
            or "prompted by a user" in frequency or "user prompt" in frequency):
        return "user"
    if function == "ai search crawlers" or ("search" in function and "train" not in function):
        return "search"
    if function in _TRAINING_CATEGORIES or re.search(r"\btrain|\bllm|dataset|machine learning|\bmodels?\b", function):
        return "training"
    return "other"


@dataclass(frozen=True)
class Agent:
    name: str
    operator: str
    klass: str


def _operator(text: str) -> str:
    """`[OpenAI](https://openai.com)` -> OpenAI; 'Unclear at this time.' -> ''."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", str(text or "")).strip()
    return "" if text.lower().startswith(("unclear", "no information")) else text


class AgentList:
    """The agents of one robots.json, and a matcher over user-agent strings."""

    def __init__(self, entries: Mapping[str, Mapping[str, Any]], *, source: str = "",
                 overrides: Mapping[str, str] | None = None, updated: datetime | None = None):
        self.source, self.updated = source, updated
        overrides = dict(overrides or {})
        unknown = {k: v for k, v in overrides.items() if v not in CLASSES}
        if unknown:
            raise AgentListError(f"[logs] agent_classes: {unknown} — classes are {', '.join(CLASSES)}")
        self.agents: dict[str, Agent] = {}
        patterns = []
        # Longest first: "Claude-SearchBot" must win over a shorter name at the same place.
        for name in sorted(entries, key=len, reverse=True):
            entry = entries[name]
            self.agents[name] = Agent(name, _operator(entry.get("operator", "")), overrides.get(name) or classify(entry))
            token = re.escape(name)
            # A generic word ("Code") only counts as name/version, as ai.robots.txt marks it.
            patterns.append(rf"{token}/\d" if entry.get("has_name_and_version") else rf"{token}(?![\w-])")
        self._pattern = re.compile(rf"(?<![\w-])(?:{'|'.join(patterns)})") if patterns else None

    def __len__(self) -> int:
        return len(self.agents)

    def find(self, user_agent: str) -> Agent | None:
        """The agent a user-agent string names (case as published), else None."""
        if self._pattern is None or not user_agent:
            return None
        m = self._pattern.search(user_agent)
        if m is None:
            return None
        text = m.group(0)
        return self.agents.get(text) or self.agents.get(text.rsplit("/", 1)[0])

    def classes(self) -> dict[str, int]:
        counts = dict.fromkeys(CLASSES, 0)
        for a in self.agents.values():
            counts[a.klass] += 1
        return counts


def parse_agents(text: str, source: str) -> dict[str, dict[str, Any]]:
    """Check a robots.json's shape: an object of agent objects, each with a `function` string."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise AgentListError(f"{source}: not JSON ({exc}); expected ai.robots.txt's robots.json") from None
    if not isinstance(data, dict):
        raise AgentListError(f"{source}: expected an object of agents (name -> {{operator, function, ...}}), "
                             f"got {type(data).__name__}")
    bad = [name for name, entry in data.items()
           if not isinstance(entry, dict) or not isinstance(entry.get("function"), str)]
    if bad:
        raise AgentListError(f"{source}: {count(len(bad), 'agent')} without a `function` text, e.g. {bad[:3]}")
    if len(data) < MIN_AGENTS:
        raise AgentListError(f"{source}: only {count(len(data), 'agent')}; the ai.robots.txt list has well over {MIN_AGENTS}")
    return data


def agents_path(state_dir: Path) -> Path:
    return Path(state_dir) / STATE_FILE


def load_agents(state_dir: Path | None, overrides: Mapping[str, str] | None = None) -> AgentList:
    """The refreshed list from the state folder, else the seed shipped with citecast."""
    path = agents_path(state_dir) if state_dir is not None else None
    if path is not None and path.exists():
        data = parse_agents(path.read_text(encoding="utf-8"), str(path))
        updated = datetime.fromtimestamp(path.stat().st_mtime, timezone.utc)
        return AgentList(data, source=str(path), overrides=overrides, updated=updated)
    text = resources.files("citecast.citations").joinpath("data", SEED).read_text(encoding="utf-8")
    data = json.loads(text)  # our own file: its shape is a test's business, not the user's
    return AgentList(data, source=f"seed ({count(len(data), 'agent')}; run `citecast logs refresh-agents`)",
                     overrides=overrides)


@dataclass
class RefreshResult:
    path: Path
    agents: int
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    reclassed: list[str] = field(default_factory=list)

    def summary(self) -> str:
        lines = [f"{self.path}: {count(self.agents, 'agent')}"]
        for label, names in (("added", self.added), ("removed", self.removed), ("class changed", self.reclassed)):
            if names:
                shown = ", ".join(names[:15]) + (f" and {len(names) - 15} more" if len(names) > 15 else "")
                lines.append(f"  {label}: {shown}")
        if not (self.added or self.removed or self.reclassed):
            lines.append("  no change in agents or classes")
        return "\n".join(lines)


def refresh_agents(state_dir: Path, url: str = DEFAULT_URL, timeout: float = 30.0) -> RefreshResult:
    """Download robots.json, check it, and replace the stored list atomically; on any error keep the old one."""
    import httpx

    try:
        resp = httpx.get(url, timeout=timeout, follow_redirects=True)
    except httpx.HTTPError as exc:
        raise AgentListError(f"{url}: download failed ({type(exc).__name__}: {exc}); the old list is kept") from None
    if resp.status_code != 200:
        raise AgentListError(f"{url}: HTTP {resp.status_code}; the old list is kept")
    data = parse_agents(resp.text, url)
    old = load_agents(state_dir)
    new = AgentList(data, source=url)
    path = agents_path(state_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".robots-", suffix=".json")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2, ensure_ascii=False)
    os.replace(tmp, path)
    return RefreshResult(
        path=path, agents=len(new),
        added=sorted(set(new.agents) - set(old.agents), key=str.lower),
        removed=sorted(set(old.agents) - set(new.agents), key=str.lower),
        reclassed=sorted((n for n in set(new.agents) & set(old.agents)
                          if new.agents[n].klass != old.agents[n].klass), key=str.lower),
    )


# --- IP ranges ----------------------------------------------------------------------

# The operators' published files, by the name they are published under.
KNOWN_RANGE_FILES = {
    "gptbot.json": "GPTBot",
    "searchbot.json": "OAI-SearchBot",
    "chatgpt-user.json": "ChatGPT-User",
    "perplexitybot.json": "PerplexityBot",
    "perplexity-user.json": "Perplexity-User",
}
VERIFIED, UNVERIFIED, UNKNOWN = "verified", "unverified", "unknown"

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def read_ranges(path: Path) -> list[Network]:
    """`{"prefixes": [{"ipv4Prefix": ...} | {"ipv6Prefix": ...}]}` (OpenAI, Perplexity, Google), or one CIDR a line."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise AgentListError(f"{path}: cannot read IP ranges ({exc.strerror})") from None
    items: list[str] = []
    if text.lstrip().startswith("{"):
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise AgentListError(f"{path}: not JSON ({exc})") from None
        for p in data.get("prefixes") or []:
            if isinstance(p, dict):
                items += [p[k] for k in ("ipv4Prefix", "ipv6Prefix") if isinstance(p.get(k), str)]
    else:
        items = [line.split("#", 1)[0].strip() for line in text.splitlines()]
        items = [i for i in items if i]
    nets = []
    for item in items:
        try:
            nets.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise AgentListError(f"{path}: {item!r} is not an IP range (CIDR)") from None
    if not nets:
        raise AgentListError(f'{path}: no IP ranges; expected {{"prefixes": [{{"ipv4Prefix": "a.b.c.d/n"}}, ...]}} '
                             "as the operator publishes it, or one CIDR a line")
    return nets


def range_spec(spec: str, root: Path | None = None) -> tuple[str, Path]:
    """`AGENT=FILE`, or a FILE published under a known name (gptbot.json -> GPTBot)."""
    agent, sep, file = spec.partition("=")
    if not sep:
        file, agent = spec, KNOWN_RANGE_FILES.get(Path(spec).name.lower(), "")
        if not agent:
            raise AgentListError(f"{spec}: cannot tell which agent these ranges verify; write AGENT=FILE, "
                                 f"e.g. GPTBot={spec} (known file names: {', '.join(KNOWN_RANGE_FILES)})")
    path = Path(file.strip())
    if root is not None and not path.is_absolute():
        path = root / path
    return agent.strip(), path


class Verifier:
    """Checks a hit's IP against its agent's published ranges (cached per agent and IP)."""

    def __init__(self, ranges: Mapping[str, Iterable[Network]] | None = None):
        self.ranges = {agent: tuple(nets) for agent, nets in (ranges or {}).items()}
        self._seen: dict[tuple[str, str], str] = {}

    @classmethod
    def from_specs(cls, specs: Mapping[str, Path], known: Iterable[str] = ()) -> "Verifier":
        known = set(known)
        unknown = [a for a in specs if known and a not in known]
        if unknown:
            raise AgentListError(f"IP ranges for unknown {plural('agent', len(unknown))} {unknown}: use the agent's name as the list has it "
                                 "(e.g. GPTBot, OAI-SearchBot, ChatGPT-User, PerplexityBot, Perplexity-User)")
        merged: dict[str, list[Network]] = {}
        for agent, path in specs.items():
            merged.setdefault(agent, []).extend(read_ranges(path))
        return cls(merged)

    def status(self, agent: str, ip: str) -> str:
        nets = self.ranges.get(agent)
        if not nets:
            return UNKNOWN
        key = (agent, ip)
        got = self._seen.get(key)
        if got is None:
            try:
                addr = ipaddress.ip_address(ip.strip("[]"))
            except ValueError:
                got = UNVERIFIED
            else:
                got = VERIFIED if any(addr in n for n in nets if n.version == addr.version) else UNVERIFIED
            if len(self._seen) > 100_000:
                self._seen.clear()
            self._seen[key] = got
        return got
