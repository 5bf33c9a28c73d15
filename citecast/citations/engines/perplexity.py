"""Perplexity: the Sonar chat completions API, or the Agent API (Responses format), via the openai SDK.

Chat completions return `search_results` (every page retrieved; `citations` in older answers)
and an answer whose `[n]` markers cite result n: the markers, in order of first appearance, are
the citations; results never marked were retrieved but not cited. An answer without any marker
cites nothing we can place, so its results all count as cited (the app lists them all as sources).
The Agent API (`api = "responses"`) returns `search_results` items with the queries it ran.
Both report the request's cost in USD (`usage.cost.total_cost`).
"""

from __future__ import annotations

import re
from typing import Any

from citecast.citations.engines.base import Answer, Engine, Prices, Usage, get
from citecast.citations.engines.openai import read_responses_output
from citecast.citations.model import Cited

MARKER = re.compile(r"\[(\d{1,3})\]")


class PerplexityEngine(Engine):
    kind = "perplexity"

    def __init__(self, client: Any, model: str, name: str = "perplexity", *, api: str = "chat",
                 prices: Prices = Prices()):
        self.client, self.model, self.name, self.api, self.prices = client, model, name, api, prices

    def ask(self, query: str) -> Answer:
        if self.api == "responses":
            return self._ask_responses(query)
        resp = self.client.chat.completions.create(model=self.model, messages=[{"role": "user", "content": query}])
        extra = dict(getattr(resp, "model_extra", None) or {})
        text = (resp.choices[0].message.content or "") if resp.choices else ""
        results = [Cited(get(r, "url"), "source", get(r, "title")) for r in extra.get("search_results") or []
                   if get(r, "url")]
        if not results:
            results = [Cited(u, "source") for u in extra.get("citations") or [] if isinstance(u, str)]
        usage = resp.usage.model_dump() if resp.usage else {}  # keeps Perplexity's extra fields (cost, searches)
        answer = Answer(text, cited_by_markers(text, results) + results, getattr(resp, "model", None) or self.model,
                        usage=_usage(usage))
        answer.cost_usd = self.prices.cost(answer.usage)
        return answer

    def _ask_responses(self, query: str) -> Answer:
        resp = self.client.responses.create(model=self.model, input=query, tools=[{"type": "web_search"}])
        text, citations, sources, queries, searches = read_responses_output(resp)
        usage = get(resp, "usage")
        raw = usage.model_dump() if hasattr(usage, "model_dump") else dict(usage or {})
        answer = Answer(text, citations + sources, get(resp, "model") or self.model, queries, _usage(raw, searches))
        answer.cost_usd = self.prices.cost(answer.usage)
        return answer


def cited_by_markers(text: str, results: list[Cited]) -> list[Cited]:
    """The results the answer's `[n]` markers point at, in order of first appearance."""
    order: list[int] = []
    for m in MARKER.finditer(text):
        n = int(m.group(1))
        if 1 <= n <= len(results) and n not in order:
            order.append(n)
    if not order:
        return [Cited(r.url, "citation", r.title) for r in results]
    return [Cited(results[n - 1].url, "citation", results[n - 1].title) for n in order]


def _usage(raw: dict[str, Any], searches: int | None = None) -> Usage:
    cost = raw.get("cost") or {}
    total = cost.get("total_cost") if isinstance(cost, dict) else None
    return Usage(
        input_tokens=raw.get("prompt_tokens", raw.get("input_tokens")),
        output_tokens=raw.get("completion_tokens", raw.get("output_tokens")),
        searches=raw.get("num_search_queries", searches),
        reported_cost=float(total) if isinstance(total, (int, float)) else None,
    )
