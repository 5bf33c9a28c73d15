"""OpenAI's Responses API with the `web_search` tool, through the openai SDK.

`web_search_call` items say what the model did: `search` actions carry the queries it ran (and,
with `include=["web_search_call.action.sources"]`, every source it consulted), `open_page` and
`find_in_page` the pages it opened. `url_citation` annotations are the citations; only their
`start_index` tells the answer order.
"""

from __future__ import annotations

from typing import Any

from citecast.citations.engines.base import Answer, Engine, Prices, Usage, dedupe, get
from citecast.citations.model import Cited


def make_openai_client(*, api_key: str, base_url: str = "", timeout: float = 60.0, max_retries: int = 2):
    from openai import OpenAI

    return OpenAI(api_key=api_key, base_url=base_url or None, timeout=timeout, max_retries=max_retries)


def read_responses_output(resp: Any) -> tuple[str, list[Cited], list[Cited], list[str], int]:
    """Text, citations in answer order, retrieved sources, queries and search calls of a Responses answer.

    Shared with Perplexity's Agent API, which speaks the same format with its own
    `search_results` items.
    """
    cited: list[tuple[int, int, int, Cited]] = []
    sources: list[Cited] = []
    queries: list[str] = []
    texts: list[str] = []
    searches = offset = 0
    for item_no, item in enumerate(get(resp, "output", None) or []):
        kind = get(item, "type")
        if kind == "web_search_call":
            action = get(item, "action")
            act = get(action, "type")
            if act == "search":
                searches += 1
                queries += list(get(action, "queries", None) or []) or [get(action, "query")]
                sources += [Cited(get(s, "url"), "source") for s in get(action, "sources", None) or [] if get(s, "url")]
            elif act in ("open_page", "find_in_page") and get(action, "url"):
                sources.append(Cited(get(action, "url"), "source"))
        elif kind == "search_results":  # Perplexity's Agent API
            searches += 1
            queries += list(get(item, "queries", None) or [])
            sources += [Cited(get(r, "url"), "source", get(r, "title")) for r in get(item, "results", None) or []
                        if get(r, "url")]
        elif kind == "message":
            for part in get(item, "content", None) or []:
                if get(part, "type") != "output_text":
                    continue
                text = get(part, "text") or ""
                for n, ann in enumerate(get(part, "annotations", None) or []):
                    if get(ann, "type") == "url_citation" and get(ann, "url"):
                        start = get(ann, "start_index", 0) or 0
                        cited.append((offset + start, item_no, n, Cited(get(ann, "url"), "citation", get(ann, "title"))))
                texts.append(text)
                offset += len(text)
    cited.sort(key=lambda t: (t[0], t[1], t[2]))
    return "".join(texts), [c for *_, c in cited], sources, dedupe([q for q in queries if q]), searches


class OpenAISearchEngine(Engine):
    kind = "openai_search"

    def __init__(self, client: Any, model: str, name: str = "openai", include_sources: bool = True,
                 prices: Prices = Prices()):
        self.client, self.model, self.name, self.include_sources = client, model, name, include_sources
        self.prices = prices

    def ask(self, query: str) -> Answer:
        kwargs: dict[str, Any] = {"model": self.model, "input": query, "tools": [{"type": "web_search"}]}
        if self.include_sources:
            kwargs["include"] = ["web_search_call.action.sources"]
        resp = self.client.responses.create(**kwargs)
        text, citations, sources, queries, searches = read_responses_output(resp)
        usage = get(resp, "usage")
        answer = Answer(text, citations + sources, get(resp, "model") or self.model, queries,
                        Usage(get(usage, "input_tokens"), get(usage, "output_tokens"), searches))
        answer.cost_usd = self.prices.cost(answer.usage)
        return answer
