"""The engine contract: `ask(query) -> Answer`, and what an answer records.

An answer keeps what the engine did, not only what it said: the URLs it cited
in answer order (kind "citation"), every URL it retrieved (kind "source"; a
retrieved URL that is never cited is what an editor should look at first),
the search queries it ran, the model that answered, tokens and cost.
Errors from the SDKs (after their own retries) propagate; the probe records them.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

from citecast.citations.model import Cited


@dataclass
class Usage:
    input_tokens: int | None = None
    output_tokens: int | None = None
    searches: int | None = None  # search calls or queries, the unit the engine bills
    reported_cost: float | None = None  # USD, when the API states it (Perplexity)


@dataclass
class Answer:
    text: str
    cited: list[Cited] = field(default_factory=list)  # citations in answer order, then sources
    model: str | None = None
    queries: list[str] = field(default_factory=list)  # the search queries the engine ran, in order
    usage: Usage = field(default_factory=Usage)
    cost_usd: float | None = None
    notices: list[str] = field(default_factory=list)  # e.g. a tool error or an unresolved link

    @property
    def citations(self) -> list[Cited]:
        return [c for c in self.cited if c.kind == "citation"]

    @property
    def sources(self) -> list[Cited]:
        return [c for c in self.cited if c.kind == "source"]


class EngineError(Exception):
    pass


class Engine(ABC):
    """One answer engine. Capabilities are class attributes; one method."""

    name: str
    kind: str
    can_cite: bool = True
    surface: str = "api"
    model: str | None = None

    @abstractmethod
    def ask(self, query: str) -> Answer: ...


@dataclass(frozen=True)
class Prices:
    """USD prices of one engine, from settings; None where unknown (then no cost is claimed)."""

    input_per_mtok: float | None = None
    output_per_mtok: float | None = None
    per_search: float | None = None

    def cost(self, usage: Usage) -> float | None:
        if usage.reported_cost is not None:
            return usage.reported_cost
        parts = [(usage.input_tokens, self.input_per_mtok, 1e-6), (usage.output_tokens, self.output_per_mtok, 1e-6),
                 (usage.searches, self.per_search, 1.0)]
        if any(n and price is None for n, price, _ in parts) or all(price is None for _, price, _ in parts):
            return None  # a part we cannot price: say nothing rather than a partial figure
        return round(sum((n or 0) * (price or 0) * unit for n, price, unit in parts), 8)


def get(obj: Any, name: str, default: Any = None) -> Any:
    """A field of an SDK model or of a plain dict (SDKs keep unknown items as dicts)."""
    if isinstance(obj, dict):
        return obj.get(name, default)
    return getattr(obj, name, default)


def dedupe(items: list[str]) -> list[str]:
    seen: set[str] = set()
    return [x for x in items if x and not (x in seen or seen.add(x))]
