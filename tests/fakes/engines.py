"""A local fake of the OpenAI Responses API and (Perplexity-style) chat completions.

Real HTTP on 127.0.0.1, so the real openai SDK is exercised end to end
(openai 3.x sits on httpx2: respx cannot intercept it).

Answers are scripted per query text. Faults are triggered by markers in the query:
`[429]` always rate-limited, `[500-once]` one server error then fine,
`[500]` always failing, `[hang]` no answer for `hang_seconds`.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Scripted:
    text: str
    citations: list[tuple[str, str]] = field(default_factory=list)  # (url, title), in answer order
    sources: list[str] = field(default_factory=list)  # retrieved; those not in citations were not cited
    queries: list[str] = field(default_factory=list)  # the searches the engine ran


class FakeEngineServer:
    def __init__(self, answers: dict[str, Scripted] | None = None, hang_seconds: float = 2.0,
                 perplexity_style: str = "search_results"):
        self.answers = dict(answers or {})
        self.hang_seconds = hang_seconds
        self.perplexity_style = perplexity_style  # search_results | citations | both | no_markers | agent
        self.requests: list[dict[str, Any]] = []
        self.hits: dict[str, int] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._server.block_on_close = False
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def __enter__(self) -> "FakeEngineServer":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()

    def count(self, query: str) -> int:
        with self._lock:
            return self.hits.get(query, 0)

    def answer_for(self, query: str) -> Scripted:
        return self.answers.get(query) or Scripted(text=f"No idea about {query}.")

    # -- the HTTP side ----------------------------------------------------------

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _send(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
                data = json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(data)))
                    for k, v in (headers or {}).items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout)

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                if self.path.endswith("/responses"):
                    query = body.get("input")
                    if isinstance(query, list):
                        query = query[-1].get("content")
                elif self.path.endswith("/chat/completions"):
                    query = body["messages"][-1]["content"]
                else:
                    return self._send(404, {"error": {"message": f"no route {self.path}"}})
                with fake._lock:
                    fake.requests.append({"path": self.path, "body": body,
                                          "auth": self.headers.get("authorization")})
                    n = fake.hits[query] = fake.hits.get(query, 0) + 1
                if "[429]" in query:
                    return self._send(429, {"error": {"message": "Rate limit reached", "type": "requests"}},
                                      {"retry-after-ms": "10"})
                if "[500]" in query or ("[500-once]" in query and n == 1):
                    return self._send(500, {"error": {"message": "The server had an error", "type": "server_error"}})
                if "[hang]" in query:
                    fake._stop.wait(fake.hang_seconds)
                    return self._send(200, {"error": "too late"})
                answer = fake.answer_for(query)
                if self.path.endswith("/responses") and fake.perplexity_style == "agent":
                    return self._send(200, perplexity_agent_body(body, answer))
                if self.path.endswith("/responses"):
                    return self._send(200, responses_body(body, answer))
                return self._send(200, chat_body(body, answer, fake.perplexity_style))

        return Handler


def responses_body(request: dict[str, Any], answer: Scripted) -> dict[str, Any]:
    """A Responses API answer: annotations listed out of order, as only start_index tells the order."""
    text = answer.text
    annotations = []
    for n, (url, title) in enumerate(answer.citations):
        marker = f" [{n + 1}]"
        start = len(text)
        text += marker
        annotations.append({"type": "url_citation", "url": url, "title": title,
                            "start_index": start, "end_index": start + len(marker)})
    annotations.reverse()
    output: list[dict[str, Any]] = []
    if "web_search_call.action.sources" in (request.get("include") or []):
        output.append({"type": "web_search_call", "id": "ws_1", "status": "completed",
                       "action": {"type": "search", "query": (answer.queries or [request.get("input")])[0],
                                  "queries": answer.queries or None,
                                  "sources": [{"type": "url", "url": u} for u in answer.sources]}})
    output.append({"type": "message", "id": "msg_1", "role": "assistant", "status": "completed",
                   "content": [{"type": "output_text", "text": text, "annotations": annotations, "logprobs": []}]})
    return {
        "id": "resp_1", "object": "response", "created_at": 1767225600, "model": request.get("model"),
        "status": "completed", "output": output, "parallel_tool_calls": True, "tool_choice": "auto",
        "tools": request.get("tools", []), "temperature": 1.0, "top_p": 1.0, "error": None,
        "incomplete_details": None, "instructions": None, "metadata": {},
        "usage": {"input_tokens": 10, "output_tokens": 20, "total_tokens": 30,
                  "input_tokens_details": {"cached_tokens": 0}, "output_tokens_details": {"reasoning_tokens": 0}},
    }


def _results(answer: Scripted) -> list[tuple[str, str]]:
    """Every retrieved result: the uncited ones first, so citation order differs from result order."""
    titles = dict(answer.citations)
    urls = [u for u in answer.sources if u not in titles] + [u for u, _ in answer.citations]
    return [(u, titles.get(u, u.rsplit("/", 1)[-1])) for u in dict.fromkeys(urls)]


def chat_body(request: dict[str, Any], answer: Scripted, style: str) -> dict[str, Any]:
    """Sonar chat completion: `[n]` markers point into search_results; usage states the cost."""
    results = _results(answer)
    index = {u: n + 1 for n, (u, _) in enumerate(results)}
    text = answer.text + "".join(f" Point {k + 1} [{index[u]}]." for k, (u, _) in enumerate(answer.citations))
    if style == "no_markers":
        text = answer.text
    body: dict[str, Any] = {
        "id": "chat_1", "object": "chat.completion", "created": 1767225600, "model": request.get("model"),
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": text}}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 20, "total_tokens": 30, "search_context_size": "low",
                  "num_search_queries": max(1, len(answer.queries)),
                  "cost": {"input_tokens_cost": 0.00001, "output_tokens_cost": 0.00002, "request_cost": 0.005,
                           "total_cost": 0.00503}},
    }
    if style in ("search_results", "both", "no_markers") and results:
        body["search_results"] = [{"title": t, "url": u, "date": "2026-01-01", "snippet": "..."} for u, t in results]
    if style in ("citations", "both") and results:
        body["citations"] = [u for u, _ in results]
    return body


def perplexity_agent_body(request: dict[str, Any], answer: Scripted) -> dict[str, Any]:
    """Perplexity's Agent API: OpenAI Responses format with its own `search_results` items."""
    body = responses_body({**request, "include": []}, answer)
    results = _results(answer)
    body["output"].insert(0, {"type": "search_results", "queries": list(answer.queries),
                              "results": [{"id": n + 1, "url": u, "title": t, "snippet": "...", "source": "web"}
                                          for n, (u, t) in enumerate(results)]})
    body["usage"]["cost"] = {"currency": "USD", "input_cost": 0.0001, "output_cost": 0.0002,
                             "tool_calls_cost": 0.005, "total_cost": 0.0053}
    return body
