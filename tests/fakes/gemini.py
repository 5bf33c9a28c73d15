"""A local fake of the Gemini API's generateContent with Grounding with Google Search.

Real HTTP on 127.0.0.1, so the google-genai SDK, its retry options and its response parsing run
end to end. It answers as the real API does: camelCase JSON, grounding chunks whose links are
redirect links (served by this fake under /grounding-api-redirect/, as Google serves them under
vertexaisearch.cloud.google.com), chunk titles that are domains, support segments measured in
UTF-8 bytes and listed out of answer order, queries the "model" ran.

Faults come from markers in the question: `[429]` always rate-limited (RESOURCE_EXHAUSTED),
`[500-once]` one INTERNAL error then fine, `[500]` always failing, `[hang]` no answer before the
connection is dropped, `[blocked]` a prompt refused with no candidates, `[cut]` an answer stopped at MAX_TOKENS. Redirect links misbehave per `redirect_mode`: "ok", "head_refused" (405 to
HEAD, 302 to GET), "expired" (404 for tokens in `expired`), "rate_once" (429 then 302), "slow".
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from tests.fakes.engines import Scripted
from tests.fakes.http import Fault, FakeServer, Reply, Request


class FakeGemini(FakeServer):
    stall_seconds = 2.0

    def __init__(self, answers: dict[str, Scripted] | None = None, api_key: str = "gm-key",
                 redirect_mode: str = "ok", redirect_delay: float = 0.0):
        super().__init__()
        self.answers = dict(answers or {})
        self.api_key = api_key
        self.redirect_mode = redirect_mode
        self.redirect_delay = redirect_delay
        self.expired: set[str] = set()  # target URLs whose tokens the fake treats as expired
        self.tokens: dict[str, str] = {}
        self.hits: dict[str, int] = {}
        self.redirect_hits: dict[str, int] = {}
        self.route("POST", r"/(v1|v1beta)/models/(?P<model>[^:/]+):generateContent", self.generate)
        self.route("HEAD", r"/grounding-api-redirect/(?P<token>[\w-]+)", self.redirect)
        self.route("GET", r"/grounding-api-redirect/(?P<token>[\w-]+)", self.redirect)

    @property
    def redirect_prefix(self) -> str:
        return f"{self.url}/grounding-api-redirect/"

    def token_for(self, url: str) -> str:
        with self.lock:
            for token, target in self.tokens.items():
                if target == url:
                    return token
            token = f"AUZIYQ{len(self.tokens):04d}x"
            self.tokens[token] = url
            return token

    def generate(self, req: Request, m) -> Reply:
        if req.header("x-goog-api-key") != self.api_key:
            return Reply(400, {"error": {"code": 400, "message": "API key not valid. Please pass a valid API key.",
                                         "status": "INVALID_ARGUMENT"}})
        body = req.json()
        query = body["contents"][-1]["parts"][0]["text"]
        with self.lock:
            n = self.hits[query] = self.hits.get(query, 0) + 1
        if "[429]" in query:
            return Reply(429, {"error": {"code": 429, "message": "Resource has been exhausted (e.g. check quota).",
                                         "status": "RESOURCE_EXHAUSTED"}})
        if "[500]" in query or ("[500-once]" in query and n == 1):
            return Reply(500, {"error": {"code": 500, "message": "An internal error has occurred.",
                                         "status": "INTERNAL"}})
        if "[hang]" in query:
            raise Fault("stall")
        if "[blocked]" in query:  # the prompt itself refused: no candidates at all
            return Reply(200, {"promptFeedback": {"blockReason": "SAFETY"}, "modelVersion": f"{m.group('model')}-001",
                               "usageMetadata": {"promptTokenCount": 12, "totalTokenCount": 12}})
        grounded = any("googleSearch" in t or "google_search" in t for t in body.get("tools") or [])
        answer = self.answers.get(query) or Scripted(text=f"No idea about {query}.")
        return Reply(200, self.body(m.group("model"), answer, grounded))

    def body(self, model: str, answer: Scripted, grounded: bool) -> dict[str, Any]:
        text, supports = answer.text, []
        chunks: list[str] = list(dict.fromkeys([u for u, _ in answer.citations] + list(answer.sources)))
        for n, (url, _title) in enumerate(answer.citations if grounded else []):
            sentence = f" Claim {n + 1} — ✓ backed by {urlsplit(url).hostname}."
            start = len(text.encode("utf-8"))
            text += sentence
            supports.append({"segment": {"startIndex": start, "endIndex": len(text.encode("utf-8")),
                                         "text": sentence.strip()},
                             "groundingChunkIndices": [chunks.index(url)], "confidenceScores": [0.9]})
        supports.reverse()  # only the segment offsets tell the answer order
        candidate: dict[str, Any] = {"content": {"role": "model", "parts": [{"text": text}]},
                                     "finishReason": "MAX_TOKENS" if "[cut]" in answer.text else "STOP", "index": 0}
        if grounded:
            candidate["groundingMetadata"] = {
                "webSearchQueries": list(answer.queries),
                "searchEntryPoint": {"renderedContent": "<style>.container{}</style><div class=\"container\"></div>"},
                "groundingChunks": [{"web": {"uri": self.redirect_prefix + self.token_for(u),
                                             "title": urlsplit(u).hostname}} for u in chunks],
                "groundingSupports": supports,
            }
        return {"candidates": [candidate], "modelVersion": f"{model}-001", "responseId": "resp-gm-1",
                "usageMetadata": {"promptTokenCount": 12, "candidatesTokenCount": 40, "toolUsePromptTokenCount": 100,
                                  "totalTokenCount": 152}}

    def redirect(self, req: Request, m) -> Reply:
        token = m.group("token")
        with self.lock:
            n = self.redirect_hits[token] = self.redirect_hits.get(token, 0) + 1
            target = self.tokens.get(token)
        if self.redirect_delay:
            self._stop.wait(self.redirect_delay)
        if target is None or target in self.expired:
            return Reply(404, "Not Found")
        if self.redirect_mode == "head_refused" and req.method == "HEAD":
            return Reply(405, "Method Not Allowed")
        if self.redirect_mode == "rate_once" and n == 1:
            return Reply(429, "Too Many Requests", {"Retry-After": "0"})
        return Reply(302, "", {"Location": target})

