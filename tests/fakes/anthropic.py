"""A local fake of Anthropic's Messages API with the server-side web search tool.

Real HTTP on 127.0.0.1 for the anthropic SDK (its headers, retries and typed content blocks).
An answer is a list of content blocks as the API sends them: a `server_tool_use` block per search
with its query, a `web_search_tool_result` with the pages found (cited and not), then `text`
blocks, the cited ones carrying `web_search_result_location` citations.

Markers in the question: `[429]` rate-limited with retry-after, `[529]` overloaded,
`[500-once]` one api_error then fine, `[hang]` no answer before the connection drops,
`[pause]` the turn stops with `pause_turn` after the search and finishes on the next call
(which must send the paused content back), `[tool-error]` the search fails inside a 200 answer,
`[cut]` the answer stops at max_tokens.
"""

from __future__ import annotations

from typing import Any

from tests.fakes.engines import Scripted
from tests.fakes.http import Fault, FakeServer, Reply, Request


class FakeAnthropic(FakeServer):
    stall_seconds = 2.0

    def __init__(self, answers: dict[str, Scripted] | None = None, api_key: str = "sk-ant-test"):
        super().__init__()
        self.answers = dict(answers or {})
        self.api_key = api_key
        self.hits: dict[str, int] = {}
        self.route("POST", r"/v1/messages", self.messages)

    def _authorized(self, req: Request) -> bool:
        bearer = (req.header("authorization") or "").removeprefix("Bearer ")
        return self.api_key in (req.header("x-api-key"), bearer)

    def messages(self, req: Request, m) -> Reply:
        if not self._authorized(req):
            return Reply(401, _error("authentication_error", "invalid x-api-key"))
        if not req.header("anthropic-version"):
            return Reply(400, _error("invalid_request_error", "anthropic-version header is required"))
        body = req.json()
        if not body.get("max_tokens"):
            return Reply(400, _error("invalid_request_error", "max_tokens: Field required"))
        query = body["messages"][0]["content"]
        with self.lock:
            n = self.hits[query] = self.hits.get(query, 0) + 1
        if "[429]" in query:
            return Reply(429, _error("rate_limit_error", "Number of requests has exceeded your rate limit"),
                         {"retry-after": "0"})
        if "[529]" in query:
            return Reply(529, _error("overloaded_error", "Overloaded"))
        if "[500-once]" in query and n == 1:
            return Reply(500, _error("api_error", "Internal server error"))
        if "[hang]" in query:
            raise Fault("stall")
        answer = self.answers.get(query) or Scripted(text=f"No idea about {query}.")
        searching = any(t.get("name") == "web_search" for t in body.get("tools") or [])
        blocks = self.blocks(answer, searching, "[tool-error]" in query)
        if "[pause]" in query:
            if len(body["messages"]) == 1:  # first call: the search, then the pause
                return Reply(200, _message(body, blocks[:2], "pause_turn"))
            sent_back = body["messages"][1]["content"]
            if [b["type"] for b in sent_back] != ["server_tool_use", "web_search_tool_result"]:
                return Reply(400, _error("invalid_request_error", "paused content was not sent back as is"))
            return Reply(200, _message(body, blocks[2:], "end_turn"))
        return Reply(200, _message(body, blocks, "max_tokens" if "[cut]" in query else "end_turn"))

    def blocks(self, answer: Scripted, searching: bool, tool_error: bool) -> list[dict[str, Any]]:
        if not searching:
            return [{"type": "text", "text": answer.text}]
        titles = dict(answer.citations)
        found = list(dict.fromkeys([u for u in answer.sources] + [u for u, _ in answer.citations]))
        blocks: list[dict[str, Any]] = []
        for k, q in enumerate(answer.queries or ["search"]):
            blocks.append({"type": "server_tool_use", "id": f"srvtoolu_{k:02d}", "name": "web_search",
                           "input": {"query": q}})
            if tool_error:
                content: Any = {"type": "web_search_tool_result_error", "error_code": "too_many_requests"}
            else:
                content = [{"type": "web_search_result", "url": u, "title": titles.get(u, u), "page_age": "May 1, 2026",
                            "encrypted_content": "EqgfCioIARgBIiQ"} for u in (found if k == 0 else [])]
            blocks.append({"type": "web_search_tool_result", "tool_use_id": f"srvtoolu_{k:02d}", "content": content})
        blocks.append({"type": "text", "text": answer.text})
        for url, title in ([] if tool_error else answer.citations):
            blocks.append({"type": "text", "text": f" {title} says so.",
                           "citations": [{"type": "web_search_result_location", "url": url, "title": title,
                                          "encrypted_index": "Eo8BCioIAhgB", "cited_text": f"{title} ..."}]})
        return blocks


def _message(request: dict[str, Any], content: list[dict[str, Any]], stop: str) -> dict[str, Any]:
    searches = sum(1 for b in content if b["type"] == "server_tool_use")
    return {"id": "msg_fake", "type": "message", "role": "assistant", "model": request["model"], "content": content,
            "stop_reason": stop, "stop_sequence": None,
            "usage": {"input_tokens": 200, "output_tokens": 50, "cache_read_input_tokens": 0,
                      "server_tool_use": {"web_search_requests": searches, "web_fetch_requests": 0}}}


def _error(kind: str, message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": kind, "message": message}}
