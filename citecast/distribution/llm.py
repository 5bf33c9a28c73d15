"""LLM drafting: one structured-output call per page, validated, repaired, cached, bounded.

For each page, one chat-completions request returns the drafts of all its
channels (see `llm_prompt`), within the page's deadline and the run's budget
(see `llm_call`, `llm_budget`). Every draft is checked with
`validation.draft_problems`; only the failing channels go back to the model,
with the validator's messages; whatever is still invalid is written by the
offline generator (`generator="fallback"`, the reason in `generator_note`).
An invalid draft is never returned.

What can go wrong, and what happens:

    config          model set but no key and no base URL  -> LLMConfigError (the run stops, one line)
    401/403/404     bad key, no access, unknown model      -> offline fallback; later pages skip the call
    429/5xx/timeout retried while the page's deadline allows -> offline fallback for that page
    budget spent    the request is not sent                 -> offline fallback, for the rest of the run
    refusal, cut-off, flood or broken JSON                  -> offline fallback for that page
    invalid draft   after `repair_attempts` repair calls    -> offline fallback for that channel
    offline also fails                                      -> PageDrafts.errors[channel]
"""

from __future__ import annotations

import json
import logging
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import replace
from typing import Any, Iterable, Iterator

import openai

from citecast.channels.base import Channel
from citecast.distribution.angles import Angle, next_angle
from citecast.distribution.draft_cache import DraftCache, Entry, cache_key
from citecast.distribution.drafting import (DraftError, PageDrafts, guidance_context, link_for, offline_draft,
                                            page_options)
from citecast.distribution.llm_budget import Budget, Prices, Stats, Usage, run_budget  # noqa: F401
from citecast.distribution.llm_call import LLMCallFailed, Reply, Requester, ServerRefused
from citecast.distribution.llm_client import LLMConfigError, make_client, request_gate  # noqa: F401 (re-exported)
from citecast.distribution.llm_prompt import PROMPT_VERSION, Job, answer_to_draft, page_message, repair_message, shape_of
from citecast.distribution.templates import TemplateProblem, Templates
from citecast.distribution.validation import draft_problems
from citecast.pages.loading import Page
from citecast.posts import Draft
from citecast.settings import Settings

log = logging.getLogger("citecast.llm")


class LLMDrafter:
    """Drafts every channel of every page with one LLM call per page; same contract as OfflineDrafter."""

    def __init__(self, settings: Settings, templates: Templates, ledger=None, client: openai.OpenAI | None = None,
                 budget: Budget | None = None, previous_angles: dict[str, str] | None = None):
        self.llm = settings.llm
        self.model = settings.llm.model
        self.templates = templates
        self.utm = settings.distribution.utm
        self.channel_defaults = {name: settings.channel_options(name) for name in settings.channels}
        self.client = client or make_client(settings, request_gate(settings))
        self.cache = DraftCache(ledger) if ledger is not None else None
        self.previous_angles = previous_angles or {}
        self.stats = Stats()
        self.prices = Prices(self.llm.price_in_per_mtok, self.llm.price_out_per_mtok)
        self.budget = budget or run_budget(None, self.llm)
        self.requester = Requester(self.client, self.llm, self.budget, self.stats)
        self.broken: str | None = None  # set on errors no retry can fix (bad key, unknown model)

    # public ---------------------------------------------------------------

    def draft_pages(self, work: Iterable[tuple[Page, dict[str, Channel]]]) -> list[PageDrafts]:
        """Every page's drafts, in the order of `work`."""
        work = list(work)
        order = {id(page): i for i, (page, _) in enumerate(work)}
        return sorted(self.draft_iter(work), key=lambda pd: order[id(pd.page)])

    def draft_iter(self, work: Iterable[tuple[Page, dict[str, Channel]]]) -> Iterator[PageDrafts]:
        """Each page's drafts as soon as they are ready (completion order), for callers that publish as they go."""
        prepared = [self._prepare(page, channels) for page, channels in work]
        cached = self._cached([j for _, jobs, _ in prepared for j in jobs])
        # Twice the request limit in threads: while `concurrency` requests wait on the
        # network (the gate in the transport), the others build prompts and validate.
        workers = max(1, min(2 * self.llm.concurrency, len(prepared) or 1))
        with ThreadPoolExecutor(max_workers=workers) as pool:
            futures = [pool.submit(self._draft_prepared, result, jobs, cached, angle)
                       for angle, jobs, result in prepared]
            for fut in as_completed(futures):
                pd, new_entries = fut.result()
                self._store(new_entries)
                yield pd

    def draft_page(self, page: Page, channels: dict[str, Channel]) -> PageDrafts:
        return self.draft_pages([(page, channels)])[0]

    # steps ----------------------------------------------------------------

    def _prepare(self, page: Page, channels: dict[str, Channel]) -> tuple[Angle, list[Job], PageDrafts]:
        result = PageDrafts(page)
        angle = next_angle(page, self.previous_angles.get(page.slug))
        jobs: list[Job] = []
        for name, channel in channels.items():
            try:
                template = self.templates.get(name, page.templates)
                options = page_options(page, name, self.channel_defaults.get(name, {}))
                # Guidance goes into the system message: rendered without any page data.
                guidance = template.render_block("guidance", guidance_context(name)) or f"A post for {name}."
            except TemplateProblem as exc:
                result.errors[name] = str(exc)
                continue
            link = link_for(page, name, self.utm)
            key = cache_key(page.content_hash, name, template.source_hash, self.model, link, PROMPT_VERSION,
                            json.dumps(options, sort_keys=True), angle.key, *self._allowed(page))
            jobs.append(Job(name, channel, template, link, options, guidance, shape_of(channel), key))
        return angle, jobs, result

    def _allowed(self, page: Page) -> tuple[str, str]:
        return (",".join(sorted({*self.llm.allowed_handles, *page.mentions})),
                ",".join(sorted({*self.llm.allowed_hashtags, *page.hashtags})))

    def _cached(self, jobs: list[Job]) -> dict[str, Draft]:
        if self.cache is None or not jobs:
            return {}
        try:
            return self.cache.get_many(j.key for j in jobs)
        except Exception as exc:
            log.warning("draft cache not readable, drafting afresh: %s", exc)
            return {}

    def _store(self, entries: list[Entry]) -> None:
        if self.cache is None or not entries:
            return
        try:  # cache writes stay on this one thread: SQLite has one writer
            self.cache.put_many(entries)
        except Exception as exc:  # a cache that cannot be written costs money, not correctness
            log.warning("draft cache not written: %s", exc)

    def _problems(self, page: Page, job: Job, draft: Draft) -> list[str]:
        handles, tags = ([*self.llm.allowed_handles, *page.mentions], [*self.llm.allowed_hashtags, *page.hashtags])
        try:
            return draft_problems(draft, job.channel, page.extract.plain_text + "\n" + page.title,
                                  handles, tags, page_options=job.options)
        except Exception as exc:  # a validator crash on odd model output is a failed check, not a crash
            return [f"the draft could not be checked ({type(exc).__name__}: {exc})"]

    def _draft_prepared(self, result: PageDrafts, jobs: list[Job], cached: dict[str, Draft], angle: Angle
                        ) -> tuple[PageDrafts, list[Entry]]:
        page = result.page
        todo: list[Job] = []
        for job in jobs:
            hit = cached.get(job.key)
            if hit is not None and not self._problems(page, job, replace(hit, link=job.link)):
                note = "from the draft cache" + (f" ({hit.generator_note})" if hit.generator_note else "")
                result.drafts[job.name] = replace(hit, generator_note=note, model=hit.model or self.model,
                                                  tokens_in=0, tokens_out=0, cost_usd=0.0, angle=angle.key)
                with self.stats.lock:
                    self.stats.cache_hits += 1
            else:
                todo.append(job)
        if not todo:
            return result, []
        try:
            self._draft_with_llm(page, todo, result, angle)
        except Exception as exc:  # last line of defence: this page fails, the others go on
            log.exception("drafting %s failed", page.slug)
            for job in todo:
                if job.name not in result.drafts:
                    self._fallback(page, job, result, f"drafting failed unexpectedly: {exc}", Usage(), angle)
        return result, self._entries(page, todo, result)

    def _entries(self, page: Page, todo: list[Job], result: PageDrafts) -> list[Entry]:
        """LLM and fallback drafts alike: an unchanged page with the same angle costs no call next time."""
        drafts = [(j, result.drafts[j.name]) for j in todo if j.name in result.drafts]
        return [Entry(j.key, page.content_hash, j.name, j.template.source_hash, self.model, d)
                for j, d in drafts if d.generator == "llm" or _cacheable_fallback(d)]

    def _draft_with_llm(self, page: Page, todo: list[Job], result: PageDrafts, angle: Angle) -> None:
        usage = {j.name: Usage() for j in todo}
        until = time.monotonic() + self.llm.page_deadline()
        handles, tags = ([*self.llm.allowed_handles, *page.mentions], [*self.llm.allowed_hashtags, *page.hashtags])
        pending: dict[str, list[str]] = {}
        raw: dict[str, Any] = {}
        drafts: dict[str, Draft] = {}
        message = page_message(page.title, page.extract.plain_text, todo, handles, tags,
                               angle.text if angle.key != "answer" else None)
        jobs, attempt = todo, 0
        while jobs:
            try:
                reply = self._call(jobs, message, until)
            except LLMCallFailed as exc:
                for job in jobs:
                    usage[job.name].add(exc.usage.get(job.name, Usage()))
                    note = str(exc) if not attempt else f"repair call failed ({exc}); the LLM draft had: " \
                                                        f"{'; '.join(pending.get(job.name, []))}"
                    self._fallback(page, job, result, note, usage[job.name], angle)
                return self._finish(page, drafts, usage, result, angle, {}, todo)
            pending = self._take(page, reply, jobs, usage, drafts, raw)
            if not pending or attempt >= self.llm.repair_attempts:
                break
            attempt += 1
            with self.stats.lock:
                self.stats.repairs += 1
            jobs = [j for j in todo if j.name in pending]
            message = repair_message(pending, raw, todo, handles, tags, self.llm.max_chars_per_channel)
        self._finish(page, drafts, usage, result, angle, pending, todo)

    def _call(self, jobs: list[Job], message: str, until: float) -> Reply:
        if self.broken:
            raise LLMCallFailed(self.broken)
        try:
            return self.requester.call(jobs, [{"role": "user", "content": message}], until)
        except ServerRefused as exc:
            self.broken = str(exc)
            raise

    def _finish(self, page: Page, drafts: dict[str, Draft], usage: dict[str, Usage], result: PageDrafts,
                angle: Angle, pending: dict[str, list[str]], todo: list[Job]) -> None:
        by_name = {j.name: j for j in todo}
        n = self.llm.repair_attempts
        for name, found in pending.items():
            why = (f"LLM draft still invalid after {n} repair call{'s' if n != 1 else ''}: " if n
                   else "LLM draft invalid (no repair configured): ") + "; ".join(found)
            self._fallback(page, by_name[name], result, why, usage[name], angle)
        for name, draft in drafts.items():
            u = usage[name]
            draft = replace(draft, generator="llm", model=self.model, tokens_in=u.tokens_in, tokens_out=u.tokens_out,
                            cost_usd=self.prices.cost(u), angle=angle.key)
            result.drafts[name] = draft
            self._count(draft)

    def _take(self, page: Page, reply: Reply, jobs: list[Job], usage: dict[str, Usage], drafts: dict[str, Draft],
              raw: dict[str, Any]) -> dict[str, list[str]]:
        """Validate a reply's answers: valid ones into `drafts`; returns the rest with their problems."""
        pending: dict[str, list[str]] = {}
        for job in jobs:
            usage[job.name].add(reply.usage.get(job.name, Usage()))
            answer = reply.answers.get(job.name)
            if answer is None:
                pending[job.name] = ["the answer had no draft for this channel"]
                continue
            draft = answer_to_draft(job.name, answer, job.link)
            found = self._problems(page, job, draft)
            raw[job.name] = reply.raw.get(job.name)
            if found:
                pending[job.name] = found
            else:
                drafts[job.name] = draft
        return pending

    def _fallback(self, page: Page, job: Job, result: PageDrafts, note: str, usage: Usage, angle: Angle) -> None:
        handles, tags = ([*self.llm.allowed_handles, *page.mentions], [*self.llm.allowed_hashtags, *page.hashtags])
        try:
            draft = offline_draft(page, job.channel, job.template, job.link, job.options, generator="fallback",
                                  note=note, angle=angle, handles=handles, hashtags=tags)
        except (DraftError, TemplateProblem) as exc:
            result.errors[job.name] = f"{note}; the offline generator failed too: {exc}"
            return
        except Exception as exc:  # a bug must cost this post, not the run
            log.exception("offline fallback for %s on %s failed", page.slug, job.name)
            result.errors[job.name] = f"{note}; the offline generator crashed: {type(exc).__name__}: {exc}"
            return
        # The tokens spent on the failed attempt are real cost: they stay on the event.
        draft = replace(draft, model=self.model, tokens_in=usage.tokens_in, tokens_out=usage.tokens_out,
                        cost_usd=self.prices.cost(usage))
        result.drafts[job.name] = draft
        self._count(draft)

    def _count(self, draft: Draft) -> None:
        with self.stats.lock:
            if draft.generator == "llm":
                self.stats.llm_drafts += 1
            else:
                self.stats.fallbacks += 1
            self.stats.tokens_in += draft.tokens_in
            self.stats.tokens_out += draft.tokens_out
            self.stats.cost_usd += draft.cost_usd


def _cacheable_fallback(draft: Draft) -> bool:
    """A fallback is cached unless its cause may be gone by the next run (server down, budget, deadline)."""
    note = draft.generator_note or ""
    transient = ("budget", "deadline", "did not answer", "cannot reach", "answered 5", "answered 429",
                 "refused every request", "failed unexpectedly")
    return not any(t in note for t in transient)
