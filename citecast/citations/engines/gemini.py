"""Gemini with Grounding with Google Search, through the google-genai SDK.

Grounding metadata says what the model did: `web_search_queries` (the searches it ran),
`grounding_chunks` (every page it retrieved) and `grounding_supports` (which chunks back which
part of the answer: those are the citations, ordered by where their text ends in the answer).
Chunk links are Google redirect links; the resolver turns them into the pages' URLs.
"""

from __future__ import annotations

from typing import Any

from citecast.citations.engines.base import Answer, Engine, Prices, Usage, get
from citecast.citations.engines.redirects import RedirectResolver
from citecast.citations.model import Cited
from citecast.words import count


def make_gemini_client(*, api_key: str, base_url: str = "", timeout: float = 60.0, max_retries: int = 2,
                       retry_delay: float = 1.0):
    from google import genai
    from google.genai import types

    retry = types.HttpRetryOptions(attempts=max_retries + 1, initial_delay=retry_delay, max_delay=retry_delay * 8)
    # vertexai=False: GOOGLE_GENAI_USE_VERTEXAI in the environment must not move us to Vertex.
    return genai.Client(api_key=api_key, vertexai=False, http_options=types.HttpOptions(
        base_url=base_url or None, timeout=int(timeout * 1000), retry_options=retry))


class GeminiEngine(Engine):
    kind = "gemini"

    def __init__(self, client: Any, model: str, name: str = "gemini", *, resolver: RedirectResolver | None = None,
                 prices: Prices = Prices()):
        self.client, self.model, self.name = client, model, name
        self.resolver = resolver or RedirectResolver()
        self.prices = prices

    def ask(self, query: str) -> Answer:
        from google.genai import types

        config = types.GenerateContentConfig(tools=[types.Tool(google_search=types.GoogleSearch())])
        resp = self.client.models.generate_content(model=self.model, contents=query, config=config)
        candidate = (resp.candidates or [None])[0]
        text = "".join(p.text or "" for p in (get(get(candidate, "content"), "parts") or []) if not p.thought)
        meta = get(candidate, "grounding_metadata")
        chunks = [(get(get(c, "web"), "uri"), get(get(c, "web"), "title")) for c in get(meta, "grounding_chunks") or []]
        order = cited_chunk_order(get(meta, "grounding_supports") or [], len(chunks))
        answer = Answer(text, model=resp.model_version or self.model,
                        queries=[q for q in get(meta, "web_search_queries") or [] if q], notices=_incomplete(resp))
        links = [uri for uri, _ in chunks if uri]
        resolved, failed = self.resolver.resolve_all(links)
        if failed:
            answer.notices.append(f"{count(len(failed), 'grounding link')} not resolved: "
                                  + "; ".join(sorted(set(failed.values()))))
        cite = [Cited(resolved.get(chunks[i][0], chunks[i][0]), "citation", chunks[i][1]) for i in order if chunks[i][0]]
        retrieved = [Cited(resolved.get(uri, uri), "source", title) for uri, title in chunks if uri]
        answer.cited = cite + retrieved
        usage = get(resp, "usage_metadata")
        answer.usage = Usage(
            input_tokens=_sum(get(usage, "prompt_token_count"), get(usage, "tool_use_prompt_token_count")),
            output_tokens=_sum(get(usage, "candidates_token_count"), get(usage, "thoughts_token_count")),
            searches=len(answer.queries),
        )
        answer.cost_usd = self.prices.cost(answer.usage)
        return answer


def _incomplete(resp: Any) -> list[str]:
    """Why an answer is empty or cut short (a blocked prompt, a safety stop, the token cap), if it is."""
    candidate = (get(resp, "candidates") or [None])[0]
    if candidate is None:
        reason = get(get(resp, "prompt_feedback"), "block_reason")
        return [f"no answer: the prompt was blocked ({getattr(reason, 'value', reason) or 'no reason given'})"]
    finish = get(candidate, "finish_reason")
    finish = getattr(finish, "value", finish)
    return [] if finish in (None, "STOP") else [f"answer ended early: {finish}"]


def cited_chunk_order(supports: list[Any], n_chunks: int) -> list[int]:
    """Chunk indices in the order the answer cites them: by where the supported text ends."""
    keyed: list[tuple[int, int, int, int]] = []
    for s_no, support in enumerate(supports):
        segment = get(support, "segment")
        end = get(segment, "end_index") or 0
        part = get(segment, "part_index") or 0
        for k, idx in enumerate(get(support, "grounding_chunk_indices") or []):
            if isinstance(idx, int) and 0 <= idx < n_chunks:
                keyed.append((part, end, s_no * 1000 + k, idx))
    seen: set[int] = set()
    return [idx for *_, idx in sorted(keyed) if not (idx in seen or seen.add(idx))]


def _sum(*values: int | None) -> int | None:
    present = [v for v in values if v is not None]
    return sum(present) if present else None
