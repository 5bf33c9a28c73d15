"""One LLM request for some channels of a page: sent within the page's deadline and budget, parsed.

Retries are ours, not the SDK's (its client has `max_retries=0`): a 408, 409,
429, 5xx, timeout or dropped connection is tried again up to `llm.max_retries`
times, after the server's `Retry-After` or a short back-off, but only while
the page's deadline leaves room; a wait past the deadline gives up at once.
"""

from __future__ import annotations

import json
import logging
import re
import time
from dataclasses import dataclass
from typing import Any

import openai
import pydantic
from pydantic import BaseModel

from citecast.distribution.llm_budget import Budget, BudgetSpent, Stats, Usage, estimate_tokens, split
from citecast.distribution.llm_client import ResponseTooLarge, deadline, is_openai
from citecast.distribution.llm_prompt import Job, answer_model, system_prompt, output_cap
from citecast.settings import LLM

log = logging.getLogger("citecast.llm")
RETRY_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504})


class LLMCallFailed(Exception):
    """One request brought no usable answer; the message becomes the fallback note.

    `usage` holds the tokens the failed request still cost, per channel.
    """

    def __init__(self, why: str, usage: "dict[str, Usage] | None" = None):
        super().__init__(why)
        self.usage = usage or {}


class ServerRefused(LLMCallFailed):
    """An answer no retry and no other page can change (bad key, no access, unknown model)."""


@dataclass
class Reply:
    answers: dict[str, Any]  # channel -> its pydantic answer
    raw: dict[str, Any]  # channel -> the answer as plain JSON, for a repair call
    usage: dict[str, Usage]  # channel -> its share of this call's tokens


class Requester:
    """Sends requests for one drafter; remembers what the server accepts (json_schema, max_tokens)."""

    def __init__(self, client: openai.OpenAI, llm: LLM, budget: Budget, stats: Stats):
        self.client, self.llm, self.budget, self.stats = client, llm, budget, stats
        self.json_object = llm.json_mode == "json_object"
        self.cap_param = llm.token_limit_param
        if self.cap_param == "auto":
            self.cap_param = "max_completion_tokens" if is_openai(client) else "both"

    def call(self, jobs: list[Job], messages: list[dict[str, str]], until: float) -> Reply:
        """A usable Reply for these channels, or LLMCallFailed with the reason."""
        schema = answer_model({j.name: j.shape for j in jobs})
        attempt = 0
        while True:
            attempt += 1
            try:
                return self._once(jobs, messages, schema, until)
            except openai.BadRequestError as exc:
                if not self._adapt(exc):
                    raise LLMCallFailed(f"the server rejected the request: {_brief(exc)}") from None
                attempt -= 1  # a changed request is a new first try
            except _Retry as retry:
                wait = retry.after if retry.after is not None else min(0.5 * 2 ** (attempt - 1), 8.0)
                tries = f"{attempt} attempt{'s' if attempt != 1 else ''}"
                if attempt > self.llm.max_retries:
                    raise LLMCallFailed(f"{retry.why} ({tries})", retry.usage) from None
                if time.monotonic() + wait >= until:
                    raise LLMCallFailed(f"{retry.why} ({tries}; the next try would pass the page's "
                                        f"{self.llm.page_deadline():g} s deadline)", retry.usage) from None
                time.sleep(wait)

    def _adapt(self, exc: openai.BadRequestError) -> bool:
        """Switch to what the server accepts after a 400 about json_schema or max_tokens; False if nothing to try."""
        text = f"{exc.message} {json.dumps(exc.body) if exc.body is not None else ''}".lower()
        if not self.json_object and self.llm.json_mode == "auto" and ("response_format" in text or "json_schema" in text):
            log.warning("%s does not accept json_schema output (%s); using JSON mode with the schema in the prompt",
                        self.client.base_url, _brief(exc))
            self.json_object = True
            return True
        if self.cap_param == "both" and "max_tokens" in text:
            self.cap_param = "max_completion_tokens"
            return True
        return False

    def _once(self, jobs: list[Job], messages: list[dict[str, str]], schema: type[BaseModel], until: float) -> Reply:
        full = [{"role": "system", "content": system_prompt(jobs, self.llm.max_chars_per_channel,
                                                             schema if self.json_object else None)}, *messages]
        cap = output_cap(jobs, self.llm.max_chars_per_channel, self.llm.max_output_tokens)
        prompt = sum(len(m["content"]) for m in full) + len(json.dumps(schema.model_json_schema()))
        try:
            reservation = self.budget.reserve(Usage(estimate_tokens(prompt), cap))
        except BudgetSpent as exc:
            raise LLMCallFailed(str(exc)) from None
        with self.stats.lock:
            self.stats.calls += 1
        actual = Usage(reservation.tokens_in, 0)  # a request that got no answer still sent its prompt
        try:
            try:
                raw = self._send(full, schema, cap, until)
            except _Flood as exc:  # the server ignored the cap: charge the cap, which it may well have billed
                actual = Usage(reservation.tokens_in, cap)
                raise LLMCallFailed(str(exc), _even(actual, [j.name for j in jobs])) from None
            body = _body(raw)
            usage = body.get("usage") or {}
            actual = Usage(int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0))
            return self._parse(raw, jobs, schema, actual)
        finally:
            self.budget.settle(reservation, actual)

    def _send(self, messages: list[dict], schema: type[BaseModel], cap: int, until: float) -> Any:
        left = until - time.monotonic()
        if left <= 0:
            raise _Retry("no answer before the page's deadline", after=float("inf"))
        caps: dict[str, int] = {}
        if self.cap_param in ("max_completion_tokens", "both"):
            caps["max_completion_tokens"] = cap
        if self.cap_param in ("max_tokens", "both"):
            caps["max_tokens"] = cap
        # The body may not be much larger than the cap allows (4 bytes a token, JSON escapes, envelope).
        limit = 65_536 + 16 * cap
        try:
            with deadline(until, limit):
                create = self.client.chat.completions.with_raw_response
                if self.json_object:
                    return create.create(model=self.llm.model, messages=messages, timeout=min(self.llm.timeout_seconds, left),
                                         response_format={"type": "json_object"}, **caps)
                return create.parse(model=self.llm.model, messages=messages, response_format=schema,
                                    timeout=min(self.llm.timeout_seconds, left), **caps)
        except openai.BadRequestError:
            raise
        except (openai.AuthenticationError, openai.PermissionDeniedError, openai.NotFoundError) as exc:
            raise ServerRefused(_refusal(exc, self.llm.model)) from None
        except openai.APITimeoutError:
            raise _Retry(f"the LLM server did not answer within {min(self.llm.timeout_seconds, left):g} s") from None
        except openai.APIStatusError as exc:
            if exc.status_code in RETRY_STATUS or exc.status_code >= 500:
                raise _Retry(f"the LLM server answered {exc.status_code}: {_brief(exc)}",
                             after=_retry_after(exc.response)) from None
            raise LLMCallFailed(f"the LLM server answered {exc.status_code}: {_brief(exc)}") from None
        except openai.APIConnectionError as exc:
            if isinstance(exc.__cause__, ResponseTooLarge):
                raise _Flood(f"the answer was abandoned: {exc.__cause__}") from None
            raise _Retry(f"cannot reach the LLM server at {self.client.base_url}: {exc.__cause__ or exc}") from None

    def _parse(self, raw: Any, jobs: list[Job], schema: type[BaseModel], total: Usage) -> Reply:
        names = [j.name for j in jobs]
        failed = _even(total, names)
        try:
            completion = raw.parse()  # parse mode: the SDK checks finish_reason and parses into `schema`
            choice = completion.choices[0]
            if choice.finish_reason == "length":
                raise LLMCallFailed("the answer was cut off (the output cap was reached)", failed)
            if choice.finish_reason == "content_filter":
                raise LLMCallFailed("the server's content filter stopped the answer", failed)
            message = choice.message
            if getattr(message, "refusal", None):
                raise LLMCallFailed(f"the model refused: {_clip(message.refusal)}", failed)
            parsed = message.parsed if not self.json_object else (
                schema.model_validate_json(_unfence(message.content)) if message.content else None)
        except openai.LengthFinishReasonError:
            raise LLMCallFailed("the answer was cut off (the output cap was reached)", failed) from None
        except openai.ContentFilterFinishReasonError:
            raise LLMCallFailed("the server's content filter stopped the answer", failed) from None
        except (pydantic.ValidationError, ValueError) as exc:
            raise LLMCallFailed(f"the answer was not valid JSON for the schema: {_first_line(exc)}", failed) from None
        except (IndexError, AttributeError, TypeError):
            raise LLMCallFailed("the answer had no usable message", failed) from None
        if parsed is None:
            raise LLMCallFailed("the answer was empty", failed)
        plain = {n: getattr(parsed, n).model_dump() for n in names}
        weights = [float(len(json.dumps(plain[n], ensure_ascii=False))) for n in names]
        ins = split(total.tokens_in, [1.0] * len(names))
        outs = split(total.tokens_out, weights)
        usage = {n: Usage(ins[i], outs[i]) for i, n in enumerate(names)}
        return Reply({n: getattr(parsed, n) for n in names}, plain, usage)


class _Flood(Exception):
    pass


class _Retry(Exception):
    def __init__(self, why: str, after: float | None = None, usage: dict[str, Usage] | None = None):
        super().__init__(why)
        self.why, self.after, self.usage = why, after, usage or {}


def _even(total: Usage, names: list[str]) -> dict[str, Usage]:
    """A failed call's tokens, shared evenly: they go to the drafts that fall back."""
    ins, outs = split(total.tokens_in, [1.0] * len(names)), split(total.tokens_out, [1.0] * len(names))
    return {n: Usage(ins[i], outs[i]) for i, n in enumerate(names)}


def _retry_after(response: Any) -> float | None:
    headers = getattr(response, "headers", None) or {}
    for name, scale in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        try:
            return max(0.0, float(headers.get(name)) / scale)
        except (TypeError, ValueError):
            continue
    return None


def _refusal(exc: openai.APIStatusError, model: str) -> str:
    why = f"the LLM server refused every request ({type(exc).__name__}: {_brief(exc)})"
    if isinstance(exc, openai.AuthenticationError):
        return why + " - check OPENAI_API_KEY"
    if isinstance(exc, openai.NotFoundError):
        return why + f" - check llm.model ({model!r}) and llm.base_url"
    return why


def _body(raw: Any) -> dict[str, Any]:
    try:
        data = raw.http_response.json()
        return data if isinstance(data, dict) else {}
    except Exception:
        return {}


def _unfence(text: str) -> str:
    # JSON-mode servers sometimes wrap the object in a ``` fence despite being told not to.
    m = re.fullmatch(r"\s*```(?:json)?\s*(.*?)\s*```\s*", text, re.DOTALL)
    return m.group(1) if m else text


def _brief(exc: openai.APIError) -> str:
    msg = None
    if isinstance(exc.body, dict):
        err = exc.body.get("error")
        msg = exc.body.get("message") or (err.get("message") if isinstance(err, dict) else None)
    return _clip(str(msg or exc.message))


def _first_line(exc: Exception) -> str:
    return _clip(str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__)


def _clip(text: str, n: int = 200) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= n else text[: n - 1] + "…"
