"""A local fake of an OpenAI-compatible chat-completions server, for the LLM drafter.

Real HTTP on 127.0.0.1 (openai 3.x sits on httpx2: respx cannot intercept it),
so the real SDK, its retries and its structured-output parsing run end to end.

The fake "model" reads the channels from citecast's system prompt (the
`## <channel>` / `Shape:` lines), their links from the user message (`- <channel>: <url>`)
and the title from the <page> block, and answers in the way a behaviour names.
Behaviours are taken per request from `queue` (in order), else from
`choose(body)`, else `default`:

    good            valid drafts for every channel asked for
    too_long        every post far over its platform's limit
    drop_url        the link left out
    replace_url     the link swapped for another site's
    foreign_links   the link plus another site's
    gullible        does what the page says: links any URL the page asks for
    broken_json     an answer cut off mid-JSON
    refusal         a structured-output refusal
    rate_limit      429 with Retry-After (`retry_after`)
    server_error    500
    hang            no answer for `hang_seconds`, then a good one
    cut_off         finish_reason "length"
    unauthorized    401, as for a wrong API key
    inject:<text>   valid drafts with <text> added to every post and title (hostile output:
                    links in any spelling, full-width handles and tags, HTML, template syntax)
    flood           words until the request's max_completion_tokens / max_tokens cap (finish_reason
                    "length"), or `flood_tokens` when the request has no cap, as a real server does
    flood_no_cap    `flood_bytes` of answer whatever the request's cap (a server ignoring it)
    trickle         the status line one byte every `trickle_seconds` (a slow-loris server)

`supports_json_schema = False` makes it answer 400 to `json_schema`
response formats, as some local servers do. `latency` and `max_concurrent`
shape its speed for the benchmark.
"""

from __future__ import annotations

import json
import re
import threading
import time
from typing import Any, Callable

from tests.fakes.http import FakeServer, Fault, Reply, Request

SECTION = re.compile(r"^## (\S+)\nShape: an object \{\"(posts|text|title)\"", re.M)
ANGLE = re.compile(r"<angle>(.*?)</angle>", re.S)
LINK_LINE = re.compile(r"^- (\S+): (https?://\S+)$", re.M)
PAGE = re.compile(r"<page>\n(.*?)\n</page>", re.S)
TOKEN = re.compile(r"\w+|[^\w\s]")
EVIL = re.compile(r"https?://[^\s)\"']+")


def count_tokens(text: str) -> int:
    """A stand-in tokenizer: words and punctuation marks (close to BPE counts for English)."""
    return len(TOKEN.findall(text or ""))


class FakeChatServer(FakeServer):
    def __init__(self, default: str = "good", latency: float = 0.0, max_concurrent: int | None = None,
                 hang_seconds: float = 2.0, retry_after: str = "1"):
        super().__init__()
        self.default = default
        self.queue: list[str] = []
        self.choose: Callable[[dict], str | None] | None = None
        self.latency = latency
        self.hang_seconds = hang_seconds
        self.retry_after = retry_after
        self.supports_json_schema = True
        self.rejects_max_tokens = False  # as OpenAI's reasoning models do
        self.flood_tokens = 100_000  # what a flood writes when the request sets no cap
        self.flood_bytes = 5_000_000
        self._gate = threading.Semaphore(max_concurrent) if max_concurrent else None
        self.in_flight = 0
        self.max_in_flight = 0
        self.calls: list[dict] = []  # every request body, in arrival order
        self.served: list[tuple[str, dict]] = []  # (behaviour, usage) per answered request
        self.route("POST", r"/v1/chat/completions", self._complete)

    def start(self) -> "FakeChatServer":
        # HTTP/1.1 keep-alive, as real API servers do: the SDK reuses its connections.
        super().start()
        self._httpd.RequestHandlerClass.protocol_version = "HTTP/1.1"  # a class made for this server alone
        return self

    @property
    def base_url(self) -> str:
        return self.url + "/v1"

    def script(self, *behaviours: str) -> None:
        with self.lock:
            self.queue.extend(behaviours)

    # -- what the fake saw ---------------------------------------------------

    @staticmethod
    def system(body: dict) -> str:
        return next((m["content"] for m in body["messages"] if m["role"] == "system"), "")

    @staticmethod
    def user(body: dict) -> str:
        return "\n".join(m["content"] for m in body["messages"] if m["role"] == "user")

    @classmethod
    def page_text(cls, body: dict) -> str | None:
        m = PAGE.search(cls.user(body))
        return m.group(1) if m else None

    @staticmethod
    def prompt_tokens(body: dict) -> int:
        n = sum(count_tokens(m.get("content") or "") for m in body["messages"])
        rf = body.get("response_format") or {}
        if rf.get("type") == "json_schema":
            n += count_tokens(json.dumps(rf["json_schema"]["schema"]))
        return n

    # -- the route -----------------------------------------------------------

    def _complete(self, req: Request, _m) -> Reply:
        body = req.json()
        with self.lock:
            self.calls.append(body)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self._gate is not None:
                with self._gate:
                    if self.latency:
                        time.sleep(self.latency)
                    return self._answer(body)
            if self.latency:
                time.sleep(self.latency)
            return self._answer(body)
        finally:
            with self.lock:
                self.in_flight -= 1

    def _behaviour(self, body: dict) -> str:
        with self.lock:
            if self.queue:
                return self.queue.pop(0)
        if self.choose is not None:
            picked = self.choose(body)
            if picked:
                return picked
        return self.default

    def _answer(self, body: dict) -> Reply:
        rf = body.get("response_format") or {}
        if rf.get("type") == "json_schema" and not self.supports_json_schema:
            return Reply(400, {"error": {"message": "response_format.type 'json_schema' is not supported by this server",
                                         "type": "invalid_request_error", "param": "response_format", "code": None}})
        if self.rejects_max_tokens and "max_tokens" in body:
            return Reply(400, {"error": {"message": "Unsupported parameter: 'max_tokens' is not supported with this "
                                         "model. Use 'max_completion_tokens' instead.", "type": "invalid_request_error",
                                         "param": "max_tokens", "code": "unsupported_parameter"}})
        kind = self._behaviour(body)
        if kind == "rate_limit":
            return Reply(429, {"error": {"message": "Rate limit reached", "type": "rate_limit_exceeded"}},
                         {"Retry-After": self.retry_after})
        if kind == "unauthorized":
            return Reply(401, {"error": {"message": "Incorrect API key provided", "type": "invalid_request_error",
                                         "code": "invalid_api_key"}})
        if kind == "server_error":
            return Reply(500, {"error": {"message": "The server had an error", "type": "server_error"}})
        if kind == "hang":
            self._stop.wait(self.hang_seconds)
            kind = "good"
        if kind == "trickle":
            raise Fault("trickle")
        if kind == "flood_no_cap":
            with self.lock:
                self.served.append((kind, {}))
            return Reply(200, '{"choices": [{"message": {"content": "' + "flood " * (self.flood_bytes // 6) + '"}}]}')

        links = dict(LINK_LINE.findall(self.user(body)))
        channels = [(name, shape, links.get(name, "")) for name, shape in SECTION.findall(self.system(body))]
        page = self.page_text(body) or ""
        title_m = re.match(r"Title: (.*)", page)
        title = title_m.group(1).strip() if title_m else "This page"
        refusal = None
        finish = "stop"
        if kind == "refusal":
            content, refusal = None, "I'm sorry, I can't help with that request."
        elif kind == "broken_json":
            content = '{"' + (channels[0][0] if channels else "x") + '": {"posts": ["An answer that stops mid'
        elif kind == "flood":
            cap = body.get("max_completion_tokens") or body.get("max_tokens")
            n = min(cap or self.flood_tokens, self.flood_tokens)
            content = '{"' + (channels[0][0] if channels else "x") + '": {"posts": ["' + "flood " * n
            finish = "length"
        else:
            answer = {name: self._draft(kind, shape, link, title, page) for name, shape, link in channels}
            angle = ANGLE.search(self.user(body))
            if angle:  # like a model that follows the week's angle: it leads with that point
                lead = " ".join(angle.group(1).split()[:12])
                answer = json.loads(json.dumps(answer).replace("the short answer, in plain words", lead)
                                    .replace("The short answer, in plain words", lead))
            content = json.dumps(answer)
            if kind == "cut_off":
                content, finish = content[: len(content) // 2], "length"
        usage = {"prompt_tokens": self.prompt_tokens(body), "completion_tokens": count_tokens(content or refusal or "")}
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        with self.lock:
            self.served.append((kind, usage))
        return Reply(200, {
            "id": f"chatcmpl-{self.next_id()}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model", "fake"),
            "choices": [{"index": 0, "finish_reason": finish, "logprobs": None,
                         "message": {"role": "assistant", "content": content, "refusal": refusal}}],
            "usage": usage,
        })

    @staticmethod
    def _draft(kind: str, shape: str, link: str, title: str, page: str) -> dict[str, Any]:
        if kind.startswith("inject:"):
            extra = kind.removeprefix("inject:")
            good = FakeChatServer._draft("good", shape, link, title, page)
            return {k: ([f"{v[0]} {extra}", *v[1:]] if isinstance(v, list) else f"{v} {extra}") for k, v in good.items()}
        if kind == "drop_url":
            link = ""
        elif kind == "replace_url":
            link = "https://other.example/copied-page"
        elif kind == "foreign_links":
            link = f"{link} and https://spam.example/offer"
        elif kind == "gullible":
            asked = [u for u in EVIL.findall(page) if "evil" in u]
            link = asked[0] if asked else link
        long = kind == "too_long"
        filler = " ".join(["This sentence pads the post far beyond what the platform allows."] * 80) if long else ""
        if shape == "posts":
            first = f"{title}: the short answer, in plain words. {filler}".strip()
            return {"posts": [first, f"The full answer, with sources: {link}".strip()]}
        if shape == "title":
            t = (title + " " + filler)[:400] if long else title
            return {"title": t, "body": f"The short answer, in plain words.\n\n{filler}\n\nSources: {link}".strip()}
        return {"text": f"{title}\n\nThe short answer, in plain words. {filler}\n\nThe full write-up: {link}".strip()}
