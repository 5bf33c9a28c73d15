"""Claude with Anthropic's server-side web search tool, through the anthropic SDK.

The answer arrives as content blocks: `server_tool_use` (a search Claude ran, with its query),
`web_search_tool_result` (the pages that search returned, or an error object with HTTP 200),
and `text` blocks whose `citations` (`web_search_result_location`) name the pages the text rests
on. A long turn may stop with `pause_turn`: the turn is sent back as is and continued.
"""

from __future__ import annotations

from typing import Any

from citecast.citations.engines.base import Answer, Engine, Prices, Usage, get
from citecast.citations.model import Cited

WEB_SEARCH_TOOL = "web_search_20250305"


def make_anthropic_client(*, api_key: str, base_url: str = "", timeout: float = 60.0, max_retries: int = 2):
    import anthropic

    return anthropic.Anthropic(api_key=api_key, base_url=base_url or None, timeout=timeout, max_retries=max_retries)


class AnthropicEngine(Engine):
    kind = "anthropic"

    def __init__(self, client: Any, model: str, name: str = "anthropic", *, max_tokens: int = 1024,
                 max_uses: int | None = 5, max_continuations: int = 3, prices: Prices = Prices()):
        self.client, self.model, self.name = client, model, name
        self.max_tokens, self.max_uses, self.max_continuations = max_tokens, max_uses, max_continuations
        self.prices = prices

    def ask(self, query: str) -> Answer:
        tool: dict[str, Any] = {"type": WEB_SEARCH_TOOL, "name": "web_search"}
        if self.max_uses:
            tool["max_uses"] = self.max_uses
        messages: list[dict[str, Any]] = [{"role": "user", "content": query}]
        blocks: list[Any] = []
        usage = Usage(0, 0, 0)
        model = self.model
        for _ in range(self.max_continuations + 1):
            resp = self.client.messages.create(model=self.model, max_tokens=self.max_tokens, messages=messages,
                                               tools=[tool])
            model = resp.model or model
            blocks.extend(resp.content)
            _add_usage(usage, resp.usage)
            if resp.stop_reason != "pause_turn":
                break
            # The paused turn goes back as the assistant's message; the API carries on from there.
            messages = [messages[0], {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in blocks]}]
        else:
            return _read(blocks, model, usage, self.prices,
                         [f"turn still paused after {self.max_continuations} continuations: answer incomplete"])
        stopped = [] if resp.stop_reason in ("end_turn", "stop_sequence") else [f"answer ended early: {resp.stop_reason}"]
        return _read(blocks, model, usage, self.prices, stopped)


def _read(blocks: list[Any], model: str, usage: Usage, prices: Prices, notices: list[str]) -> Answer:
    texts: list[str] = []
    citations: list[Cited] = []
    sources: list[Cited] = []
    queries: list[str] = []
    for block in blocks:
        kind = get(block, "type")
        if kind == "text":
            texts.append(get(block, "text") or "")
            for c in get(block, "citations") or []:
                if get(c, "type") == "web_search_result_location" and get(c, "url"):
                    citations.append(Cited(get(c, "url"), "citation", get(c, "title")))
        elif kind == "server_tool_use" and get(block, "name") == "web_search":
            q = get(get(block, "input") or {}, "query")
            if q:
                queries.append(q)
        elif kind == "web_search_tool_result":
            content = get(block, "content")
            if isinstance(content, list):
                sources += [Cited(get(r, "url"), "source", get(r, "title")) for r in content if get(r, "url")]
            else:
                notices.append(f"web search failed: {get(content, 'error_code') or 'unknown error'}")
    answer = Answer("".join(texts), citations + sources, model, queries, usage, notices=notices)
    answer.cost_usd = prices.cost(usage)
    return answer


def _add_usage(total: Usage, usage: Any) -> None:
    total.input_tokens = (total.input_tokens or 0) + (get(usage, "input_tokens") or 0)
    total.output_tokens = (total.output_tokens or 0) + (get(usage, "output_tokens") or 0)
    total.searches = (total.searches or 0) + (get(get(usage, "server_tool_use"), "web_search_requests") or 0)
