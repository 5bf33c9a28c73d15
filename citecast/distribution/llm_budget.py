"""Tokens and money: per-draft shares of a call's usage, run totals, and the run's budget.

The budget is reserved before a request goes out (the prompt's estimated
tokens plus the request's output cap) and settled with the server's figures
when the answer comes back, so concurrent requests cannot together overshoot
it. A request the budget cannot cover is not sent: its page is drafted
offline, with a note saying so.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from dataclasses import dataclass, field

log = logging.getLogger("citecast.llm")


def split(total: int, weights: list[float]) -> list[int]:
    """Integer shares of `total` proportional to `weights`, adding up to `total` (largest remainder)."""
    if not weights:
        return []
    s = sum(weights)
    if s <= 0:
        weights, s = [1.0] * len(weights), float(len(weights))
    raw = [total * w / s for w in weights]
    shares = [int(r) for r in raw]
    for i in sorted(range(len(raw)), key=lambda i: raw[i] - shares[i], reverse=True)[: total - sum(shares)]:
        shares[i] += 1
    return shares


@dataclass
class Usage:
    tokens_in: int = 0
    tokens_out: int = 0

    def add(self, other: "Usage") -> None:
        self.tokens_in += other.tokens_in
        self.tokens_out += other.tokens_out

    @property
    def total(self) -> int:
        return self.tokens_in + self.tokens_out


@dataclass(frozen=True)
class Prices:
    in_per_mtok: float
    out_per_mtok: float

    def cost(self, u: Usage) -> float:
        return round((u.tokens_in * self.in_per_mtok + u.tokens_out * self.out_per_mtok) / 1e6, 8)


@dataclass
class Stats:
    """Run totals, for the summary and the benchmark."""

    calls: int = 0
    repairs: int = 0
    cache_hits: int = 0
    llm_drafts: int = 0
    fallbacks: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)


class BudgetSpent(Exception):
    """A request would pass the run's budget; the message says which limit."""


class Budget:
    """The run's LLM budget in tokens and dollars; 0 means no limit on that measure."""

    def __init__(self, tokens: int, usd: float, prices: Prices):
        self.tokens, self.usd, self.prices = tokens, usd, prices
        self.spent = Usage()
        self.reserved = Usage()
        self.lock = threading.Lock()
        self.warned = False

    def reserve(self, estimate: Usage) -> Usage:
        with self.lock:
            after = Usage(self.spent.tokens_in + self.reserved.tokens_in + estimate.tokens_in,
                          self.spent.tokens_out + self.reserved.tokens_out + estimate.tokens_out)
            if self.tokens and after.total > self.tokens:
                raise BudgetSpent(self._why(f"{self.tokens:,} tokens (llm.budget_tokens)"))
            if self.usd and self.prices.cost(after) > self.usd:
                raise BudgetSpent(self._why(f"${self.usd:g} (llm.budget_usd)"))
            self.reserved.add(estimate)
            return estimate

    def settle(self, reservation: Usage, actual: Usage) -> None:
        with self.lock:
            self.reserved.tokens_in -= reservation.tokens_in
            self.reserved.tokens_out -= reservation.tokens_out
            self.spent.add(actual)

    def _why(self, limit: str) -> str:
        if not self.warned:
            self.warned = True
            log.warning("the run's LLM budget of %s is spent (%s tokens so far): the remaining pages are drafted "
                        "offline", limit, f"{self.spent.total:,}")
        return f"the run's LLM budget of {limit} is spent; drafted offline"


def estimate_tokens(chars: int) -> int:
    """A cautious token count for a budget reservation: 3 characters a token (English runs about 4)."""
    return chars // 3 + 1


# The budgets of the runs under way in this process, by run id. A run's draft
# tasks each make a drafter and find the run's budget here; the run releases it
# when it ends (release_budget), so a long-lived worker (`citecast serve`) keeps
# only the runs it is running, not every run it ever ran.
_budgets: dict[str, Budget] = {}
_budgets_lock = threading.Lock()
# Runs released lately: a straggling draft task of a run that failed part-way gets a budget of
# its own instead of registering the run again (which nothing would release). Bounded.
_released: deque[str] = deque(maxlen=256)


def run_budget(run_id: str | None, llm) -> Budget:
    """The budget of one run: the Prefect flow's draft tasks each make a drafter, and share this."""
    prices = Prices(llm.price_in_per_mtok, llm.price_out_per_mtok)
    if run_id is None:
        return Budget(llm.budget_tokens, llm.budget_usd, prices)
    with _budgets_lock:
        if run_id in _released:
            return Budget(llm.budget_tokens, llm.budget_usd, prices)
        if run_id not in _budgets:
            _budgets[run_id] = Budget(llm.budget_tokens, llm.budget_usd, prices)
        return _budgets[run_id]


def release_budget(run_id: str | None) -> None:
    """Forget a finished run's budget. A late drafter of that run gets a fresh one, kept nowhere."""
    if run_id is not None:
        with _budgets_lock:
            _budgets.pop(run_id, None)
            _released.append(run_id)


def runs_with_budgets() -> list[str]:
    """The run ids whose budgets this process holds (runs under way)."""
    with _budgets_lock:
        return list(_budgets)
