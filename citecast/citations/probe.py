"""The probe: ask every engine the tracked queries, log what each answer cites, retrieved and searched.

Engines live in citecast.citations.engines. Errors from the SDKs (after their own
retries on 408/409/429/5xx and timeouts) propagate; the probe turns them into
`ProbeFailure`s and carries on.
"""

from __future__ import annotations

import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Callable, Iterable, Sequence

from citecast.citations.engines import Answer, Engine, build_engines
from citecast.citations.model import (
    Observation,
    PageIndex,
    TrackedQuery,
    answer_excerpt,
    answer_sha256,
    mentions_brand,
    record_failed_call,
    record_observation,
)
from citecast.words import count

if TYPE_CHECKING:
    from citecast.ledger.store import Ledger


# --- the probe -----------------------------------------------------------------


class NoUsableEngine(Exception):
    """Not one configured engine can run (no key, unknown name, all disabled): the probe fails as a whole."""


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
    searches: int = 0  # search queries the engines reported running
    cost_usd: float = 0.0  # over the answers whose cost is known
    unpriced: int = 0  # answers whose cost is unknown (no prices configured)
    answer_notices: Counter = field(default_factory=Counter)  # "engine: notice" -> answers

    @property
    def ok(self) -> bool:
        return not self.failures

    def summary(self) -> str:
        lines = [f"probe {self.run_id}: {len(self.recorded)}/{self.asked} answers recorded, "
                 f"{len(self.failures)} failed, brand mentioned in {self.brand_mentions}"]
        if self.recorded:
            cost = f"${self.cost_usd:.4f}" + (f" (+{count(self.unpriced, 'answer')} without prices)" if self.unpriced else "")
            lines.append(f"  engines ran {count(self.searches, 'search')}; cost {cost}")
        for slug, n in sorted(self.cited_pages.items()):
            lines.append(f"  {slug}: cited in {n}")
        lines += [f"  notice: {n}" for n in self.notices]
        lines += [f"  notice: {text} (in {count(n, 'answer')})" for text, n in sorted(self.answer_notices.items())]
        lines += [f"  failed: {f}" for f in self.failures]
        return "\n".join(lines)


def _describe(exc: BaseException) -> str:
    status = getattr(exc, "status_code", None) or getattr(exc, "code", None)  # google-genai says `code`
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
    keep_answer: str = "excerpt",
    excerpt_chars: int = 1000,
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
            call = dict(run_id=result.run_id, engine=engine.name, query=q.query, sample=n)
            try:
                answer, at = fut.result()
                obs = _observation(engine, q, n, answer, at, result.run_id, brand_names, keep_answer, excerpt_chars)
                obs_id = record_observation(ledger, obs, index, {**call, "called_at": at})
            except Exception as exc:  # one bad answer must not stop the run
                failure = ProbeFailure(engine.name, q.query, n, _describe(exc))
                result.failures.append(failure)
                _record_failure(ledger, {**call, "called_at": clock()}, failure.error)
                continue
            _tally(result, obs_id, obs, answer, index)
    return result


def _record_failure(ledger: "Ledger", call: dict[str, Any], error: str) -> None:
    try:
        record_failed_call(ledger, call, error)
    except Exception:  # the ledger itself failing: the failure is still in the result and the summary
        pass


def _observation(engine: Engine, q: TrackedQuery, sample: int, answer: Answer, at: datetime, run_id: str,
                 brand_names: Sequence[str], keep_answer: str, excerpt_chars: int) -> Observation:
    return Observation(
        engine=engine.name, engine_kind=engine.kind, surface=engine.surface, query=q.query,
        topic=q.topic, page=q.page, observed_at=at, model=answer.model, sample=sample,
        can_cite=engine.can_cite, cited=answer.cited if engine.can_cite else [],
        brand_mentioned=mentions_brand(answer.text, brand_names),
        answer_sha256=answer_sha256(answer.text), run_id=run_id,
        answer_text=answer_excerpt(answer.text, keep_answer, excerpt_chars),
        search_queries=list(answer.queries), input_tokens=answer.usage.input_tokens,
        output_tokens=answer.usage.output_tokens, search_calls=answer.usage.searches, cost_usd=answer.cost_usd,
    )


def _tally(result: ProbeResult, obs_id: int, obs: Observation, answer: Answer, index: PageIndex) -> None:
    result.recorded.append(obs_id)
    result.brand_mentions += bool(obs.brand_mentioned)
    result.searches += answer.usage.searches or 0
    if answer.cost_usd is None:
        result.unpriced += 1
    else:
        result.cost_usd += answer.cost_usd
    for notice in answer.notices:
        result.answer_notices[f"{obs.engine}: {notice}"] += 1
    for slug in {index.match(c.url) for c in obs.cited if c.kind == "citation"} - {None}:
        result.cited_pages[slug] = result.cited_pages.get(slug, 0) + 1


def run_probe(settings: Any, *, engine_names: Sequence[str] | None = None, samples: int | None = None,
              topic: str | None = None, query: str | None = None, ledger: "Ledger | None" = None,
              env: dict[str, str] | None = None) -> ProbeResult:
    """The probe as configured: tracked queries, engines with keys, ledger from settings."""
    from citecast.citations.model import citations_settings, load_pages, open_ledger, resolve, tracked_queries

    cfg = citations_settings(settings)
    own = ledger is None
    ledger = ledger or open_ledger(settings)
    try:
        from citecast.citations.copies import load_copies

        pages = load_pages(settings, ledger)
        index = PageIndex(pages, load_copies(ledger))  # a cited post of ours counts for its page
        queries = tracked_queries(pages, resolve(settings, cfg.queries_dir))
        if topic:
            queries = [q for q in queries if q.topic == topic]
        if query:
            queries = [q for q in queries if q.query == query] or [
                TrackedQuery(query, index.topic_for_query(query) or topic or "general", index.page_for_query(query))
            ]
        engines, notices = build_engines(cfg, engine_names, env, ledger=ledger)
        if queries and not engines:
            raise NoUsableEngine("no usable engine: " + ("; ".join(notices) or "none is enabled in [citations.engines]"))
        result = probe(ledger, engines, queries, index, brand_names=settings.site.brand_names,
                       samples=samples or cfg.samples, concurrency=cfg.concurrency,
                       keep_answer=cfg.keep_answer, excerpt_chars=cfg.answer_excerpt_chars)
        result.notices = notices + ([] if queries else ["no tracked queries: add `queries:` to pages or files in "
                                                        f"{cfg.queries_dir}/<topic>.txt"])
        return result
    finally:
        if own:
            ledger.close()
