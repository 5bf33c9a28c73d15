"""Answer engines and the probe: ask tracked queries, log what the answers cite.

An engine has a name, a kind, `can_cite`, and one method, `ask(query) -> Answer`.
Errors from the SDK (after its own retries on 408/409/429/5xx and timeouts)
propagate; the probe turns them into `ProbeFailure`s and carries on.
"""

from __future__ import annotations

import os
import uuid
from abc import ABC, abstractmethod
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Callable, Iterable, Sequence

from citecast.citations.model import (
    Cited,
    Citations,
    EngineSettings,
    Observation,
    PageIndex,
    TrackedQuery,
    answer_sha256,
    mentions_brand,
    record_observation,
)

if TYPE_CHECKING:
    from citecast.ledger.store import Ledger


@dataclass
class Answer:
    text: str
    cited: list[Cited] = field(default_factory=list)
    model: str | None = None


class EngineError(Exception):
    pass


class Engine(ABC):
    name: str
    kind: str
    can_cite: bool = True
    surface: str = "api"
    model: str | None = None

    @abstractmethod
    def ask(self, query: str) -> Answer: ...


def make_client(*, api_key: str, base_url: str = "", timeout: float = 60.0, max_retries: int = 2):
    from openai import OpenAI

    return OpenAI(api_key=api_key, base_url=base_url or None, timeout=timeout, max_retries=max_retries)


def _get(obj: Any, name: str, default: Any = None) -> Any:
    if isinstance(obj, dict):
        return obj.get(name, default)
    return getattr(obj, name, default)


class OpenAISearchEngine(Engine):
    """OpenAI Responses API with the web_search tool: url_citation annotations in answer order."""

    kind = "openai_search"

    def __init__(self, client: Any, model: str, name: str = "openai", include_sources: bool = True):
        self.client, self.model, self.name, self.include_sources = client, model, name, include_sources

    def ask(self, query: str) -> Answer:
        kwargs: dict[str, Any] = {"model": self.model, "input": query, "tools": [{"type": "web_search"}]}
        if self.include_sources:
            kwargs["include"] = ["web_search_call.action.sources"]
        resp = self.client.responses.create(**kwargs)
        cited: list[tuple[int, int, int, Cited]] = []
        sources: list[Cited] = []
        texts: list[str] = []
        offset = 0
        for item_no, item in enumerate(_get(resp, "output", None) or []):
            kind = _get(item, "type")
            if kind == "web_search_call":
                for src in _get(_get(item, "action"), "sources", None) or []:
                    if _get(src, "url"):
                        sources.append(Cited(_get(src, "url"), "source"))
            elif kind == "message":
                for part in _get(item, "content", None) or []:
                    if _get(part, "type") != "output_text":
                        continue
                    text = _get(part, "text") or ""
                    for n, ann in enumerate(_get(part, "annotations", None) or []):
                        if _get(ann, "type") == "url_citation" and _get(ann, "url"):
                            start = _get(ann, "start_index", 0) or 0
                            cited.append((offset + start, item_no, n, Cited(_get(ann, "url"), "citation", _get(ann, "title"))))
                    texts.append(text)
                    offset += len(text)
        cited.sort(key=lambda t: (t[0], t[1], t[2]))
        return Answer("".join(texts), [c for *_, c in cited] + sources, _get(resp, "model") or self.model)


class PerplexityEngine(Engine):
    """Perplexity's OpenAI-compatible chat API: `search_results`, else the older `citations`."""

    kind = "perplexity"

    def __init__(self, client: Any, model: str, name: str = "perplexity"):
        self.client, self.model, self.name = client, model, name

    def ask(self, query: str) -> Answer:
        resp = self.client.chat.completions.create(model=self.model, messages=[{"role": "user", "content": query}])
        extra = dict(getattr(resp, "model_extra", None) or {})
        text = (resp.choices[0].message.content or "") if resp.choices else ""
        cited: list[Cited] = []
        for r in extra.get("search_results") or []:
            if _get(r, "url"):
                cited.append(Cited(_get(r, "url"), "citation", _get(r, "title")))
        if not cited:
            cited = [Cited(u) for u in extra.get("citations") or [] if isinstance(u, str)]
        return Answer(text, cited, getattr(resp, "model", None) or self.model)


class ChatEngine(Engine):
    """Any OpenAI-compatible chat model without search: it cannot cite, only mention the brand."""

    kind = "chat"
    can_cite = False

    def __init__(self, client: Any, model: str, name: str = "chat"):
        self.client, self.model, self.name = client, model, name

    def ask(self, query: str) -> Answer:
        resp = self.client.chat.completions.create(model=self.model, messages=[{"role": "user", "content": query}])
        text = (resp.choices[0].message.content or "") if resp.choices else ""
        return Answer(text, [], getattr(resp, "model", None) or self.model)


KEY_ENV = {"openai_search": "OPENAI_API_KEY", "perplexity": "PERPLEXITY_API_KEY", "chat": "OPENAI_API_KEY"}


def build_engine(name: str, cfg: EngineSettings, citations: Citations, env: dict[str, str] | None = None) -> Engine:
    env = dict(os.environ) if env is None else env
    key_env = cfg.api_key_env or KEY_ENV[cfg.kind]
    key = env.get(key_env, "")
    if not key:
        raise EngineError(
            f"engine {name!r}: no key found - set the {key_env} variable"
            f" (or api_key_env under [citations.engines.{name}])"
        )
    base_url = cfg.base_url or (env.get("OPENAI_BASE_URL", "") if cfg.kind != "perplexity" else "")
    client = make_client(api_key=key, base_url=base_url, timeout=citations.timeout_seconds,
                         max_retries=citations.max_retries)
    if cfg.kind == "openai_search":
        return OpenAISearchEngine(client, cfg.model, name, cfg.include_sources)
    if cfg.kind == "perplexity":
        return PerplexityEngine(client, cfg.model, name)
    return ChatEngine(client, cfg.model, name)


def build_engines(citations: Citations, names: Sequence[str] | None = None,
                  env: dict[str, str] | None = None) -> tuple[list[Engine], list[str]]:
    """The configured engines that can run, and a notice for each one that cannot."""
    engines: list[Engine] = []
    notices: list[str] = []
    wanted = list(names) if names else [n for n, c in citations.engines.items() if c.enabled]
    for name in wanted:
        cfg = citations.engines.get(name)
        if cfg is None:
            notices.append(f"engine {name!r} is not configured: known {sorted(citations.engines)}")
            continue
        try:
            engines.append(build_engine(name, cfg, citations, env))
        except EngineError as exc:
            notices.append(str(exc))
    return engines, notices


# --- the probe -----------------------------------------------------------------


@dataclass(frozen=True)
class ProbeFailure:
    engine: str
    query: str
    sample: int
    error: str

    def __str__(self) -> str:
        return f"{self.engine}: {self.query!r} (sample {self.sample}): {self.error}"


@dataclass
class ProbeResult:
    run_id: str
    asked: int = 0
    recorded: list[int] = field(default_factory=list)  # observation ids
    cited_pages: dict[str, int] = field(default_factory=dict)  # slug -> answers citing it
    brand_mentions: int = 0
    failures: list[ProbeFailure] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures

    def summary(self) -> str:
        lines = [f"probe {self.run_id}: {len(self.recorded)}/{self.asked} answers recorded, "
                 f"{len(self.failures)} failed, brand mentioned in {self.brand_mentions}"]
        for slug, n in sorted(self.cited_pages.items()):
            lines.append(f"  {slug}: cited in {n}")
        lines += [f"  notice: {n}" for n in self.notices]
        lines += [f"  failed: {f}" for f in self.failures]
        return "\n".join(lines)


def _describe(exc: BaseException) -> str:
    status = getattr(exc, "status_code", None)
    name = type(exc).__name__
    msg = str(exc).splitlines()[0][:300] if str(exc) else ""
    return f"{name}{f' {status}' if status else ''}: {msg}".rstrip(": ")


def probe(
    ledger: "Ledger",
    engines: Sequence[Engine],
    queries: Iterable[TrackedQuery],
    index: PageIndex,
    *,
    brand_names: Sequence[str] = (),
    samples: int = 1,
    concurrency: int = 4,
    run_id: str | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
) -> ProbeResult:
    """Ask every engine every query `samples` times; one transaction per answer.

    Calls run on a thread pool of `concurrency`; answers are written from this
    thread as they arrive, so a failed call or write never leaves part of an
    observation behind.
    """
    result = ProbeResult(run_id=run_id or uuid.uuid4().hex[:12])
    jobs = [(e, q, n) for q in queries for e in engines for n in range(samples)]
    result.asked = len(jobs)
    if not jobs:
        return result

    def ask(engine: Engine, q: TrackedQuery) -> tuple[Answer, datetime]:
        answer = engine.ask(q.query)
        return answer, clock()

    with ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="probe") as pool:
        futures = {pool.submit(ask, e, q): (e, q, n) for e, q, n in jobs}
        for fut in as_completed(futures):
            engine, q, n = futures[fut]
            try:
                answer, at = fut.result()
                obs = Observation(
                    engine=engine.name, engine_kind=engine.kind, surface=engine.surface, query=q.query,
                    topic=q.topic, page=q.page, observed_at=at, model=answer.model, sample=n,
                    can_cite=engine.can_cite, cited=answer.cited if engine.can_cite else [],
                    brand_mentioned=mentions_brand(answer.text, brand_names),
                    answer_sha256=answer_sha256(answer.text), run_id=result.run_id,
                )
                obs_id = record_observation(ledger, obs, index)
            except Exception as exc:  # one bad answer must not stop the run
                result.failures.append(ProbeFailure(engine.name, q.query, n, _describe(exc)))
                continue
            result.recorded.append(obs_id)
            result.brand_mentions += bool(obs.brand_mentioned)
            for slug in {index.match(c.url) for c in obs.cited if c.kind == "citation"} - {None}:
                result.cited_pages[slug] = result.cited_pages.get(slug, 0) + 1
    return result


def run_probe(settings: Any, *, engine_names: Sequence[str] | None = None, samples: int | None = None,
              topic: str | None = None, query: str | None = None, ledger: "Ledger | None" = None,
              env: dict[str, str] | None = None) -> ProbeResult:
    """The probe as configured: tracked queries, engines with keys, ledger from settings."""
    from citecast.citations.model import citations_settings, load_pages, open_ledger, resolve, tracked_queries

    cfg = citations_settings(settings)
    own = ledger is None
    ledger = ledger or open_ledger(settings)
    try:
        pages = load_pages(settings, ledger)
        index = PageIndex(pages)
        queries = tracked_queries(pages, resolve(settings, cfg.queries_dir))
        if topic:
            queries = [q for q in queries if q.topic == topic]
        if query:
            queries = [q for q in queries if q.query == query] or [
                TrackedQuery(query, index.topic_for_query(query) or topic or "general", index.page_for_query(query))
            ]
        engines, notices = build_engines(cfg, engine_names, env)
        result = probe(ledger, engines, queries, index, brand_names=settings.site.brand_names,
                       samples=samples or cfg.samples, concurrency=cfg.concurrency)
        result.notices = notices + ([] if queries else ["no tracked queries: add `queries:` to pages or files in "
                                                        f"{cfg.queries_dir}/<topic>.txt"])
        return result
    finally:
        if own:
            ledger.close()
