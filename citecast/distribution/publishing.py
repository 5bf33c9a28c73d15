"""Publishing exactly once: claim in the ledger, call the platform, confirm.

    claim (pending) ──publish──> published | dry_run
         │              ├─ RateLimited ─> wait and retry, else failed (next run retries)
         │              ├─ Rejected ────> rejected (a person decides)
         │              ├─ AuthError ───> failed, and the channel stops for this run
         │              └─ Unconfirmed ─> looked up now; else unconfirmed until reconciled
         └─ no claim: done already, or another run holds it

`reconcile` runs before a channel publishes: a pending event whose process died
and an unconfirmed one are looked up on the platform where it allows that and
then confirmed, or released for a re-post; elsewhere they wait for a person.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable, Iterable

from citecast.channels.base import AuthError, Channel, ChannelError, RateLimited, Rejected, Unconfirmed
from citecast.ledger.store import Ledger, event_key, owner_is_gone
from citecast.ledger.tables import EventRow, utcnow
from citecast.pages.loading import Page
from citecast.posts import Draft, Post

MAX_ATTEMPTS = 3
MAX_WAIT_SECONDS = 120.0


@dataclass(frozen=True)
class Item:
    page: Page
    draft: Draft | None  # None when drafting failed
    error: str | None = None


@dataclass
class Outcome:
    page: str
    channel: str
    slot: str
    status: str  # published | dry_run | failed | rejected | unconfirmed | skipped | deferred | released
    detail: str = ""
    platform_id: str | None = None
    platform_url: str | None = None
    generator: str | None = None
    text: str | list[str] | None = None
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0


@dataclass(frozen=True)
class Pacing:
    min_gap_seconds: float = 0.0
    daily_cap: int = 0


def post_of(event: EventRow, options: dict | None = None) -> Post:
    return Post(channel=event.channel, parts=tuple(event.text or ()), link=event.link, title=event.title,
                options=dict(options or {}))


def reconcile(ledger: Ledger, channel: Channel, owner: str, run_id: str,
              options_for: Callable[[str], dict] = lambda slug: {}) -> list[Outcome]:
    """Settle this channel's events whose outcome was not known."""
    out: list[Outcome] = []
    now = utcnow()
    for ev in ledger.open_events(channel.name):
        key = event_key(ev.page, ev.channel, ev.slot, ev.seq)
        if ev.status == "pending":
            if not owner_is_gone(ev.owner, ev.lease_until, now) or not ledger.retake_stale(ev.id, owner, run_id, now):
                continue  # another live run is on it
        if not channel.can_lookup:
            if ev.status == "pending":
                ledger.finish(ev.id, "unconfirmed", error="the run stopped while posting; check the platform, then `citecast ledger resolve`")
            out.append(Outcome(ev.page, ev.channel, ev.slot, "unconfirmed", "waits for a person: citecast ledger pending"))
            continue
        try:
            post = post_of(ev, {**channel.options, **options_for(ev.page)})
            found = channel.lookup(post, key, since=_aware(ev.created_at) - timedelta(minutes=5))
        except ChannelError as exc:
            if ev.status == "pending":
                ledger.finish(ev.id, "unconfirmed", error=f"lookup failed: {exc}")
            out.append(Outcome(ev.page, ev.channel, ev.slot, "unconfirmed", f"lookup failed: {exc}"))
            continue
        if found:
            status = "published" if channel.live else "dry_run"
            ledger.finish(ev.id, status, platform_id=found.id, platform_url=found.url, error=None)
            out.append(Outcome(ev.page, ev.channel, ev.slot, status, "confirmed by lookup", found.id, found.url,
                               ev.generator, ev.text))
        else:
            # Not on the platform: the call never landed, so the post may go out again.
            ledger.finish(ev.id, "failed", error="not found on the platform after an unknown outcome; re-posting")
            out.append(Outcome(ev.page, ev.channel, ev.slot, "released", "not found after an unknown outcome; posted again if due"))
    return out


def publish_channel(
    ledger: Ledger,
    channel: Channel,
    items: Iterable[Item],
    slot: str,
    *,
    owner: str,
    run_id: str,
    force: bool = False,
    pacing: Pacing = Pacing(),
    sleep: Callable[[float], None] = time.sleep,
    page_options: Callable[[Page], dict] = lambda page: {},
    on_outcome: Callable[[Outcome], None] = lambda o: None,
) -> list[Outcome]:
    outcomes: list[Outcome] = []
    broken: str | None = None  # set when credentials fail: the rest of the channel waits
    last_post_at: float | None = None

    def done(outcome: Outcome) -> None:
        outcomes.append(outcome)
        on_outcome(outcome)

    for item in items:
        page = item.page
        if pacing.daily_cap and channel.live:
            if ledger.count_published_since(channel.name, utcnow() - timedelta(days=1)) >= pacing.daily_cap:
                done(Outcome(page.slug, channel.name, slot, "deferred", f"daily cap of {pacing.daily_cap} posts reached"))
                continue
        seq = ledger.next_seq(page.slug, channel.name, slot) if force else 0
        post = channel.render(item.draft, page_options(page)) if item.draft else None
        fields = dict(
            canonical_url=page.canonical_url,
            content_hash=page.content_hash,
            link=item.draft.link if item.draft else page.canonical_url,
            title=post.title if post else None,
            text=list(post.parts) if post else [],
            generator=item.draft.generator if item.draft else "none",
            generator_note=item.draft.generator_note if item.draft else None,
            model=item.draft.model if item.draft else None,
            tokens_in=item.draft.tokens_in if item.draft else 0,
            tokens_out=item.draft.tokens_out if item.draft else 0,
            cost_usd=item.draft.cost_usd if item.draft else 0.0,
        )
        # A dry run left in this slot may be replaced by the real post once the channel is live.
        retake = ("failed", "dry_run") if channel.live else ("failed",)
        claim = ledger.claim(page=page.slug, channel=channel.name, slot=slot, seq=seq,
                             owner=owner, run_id=run_id, retake=retake, **fields)
        if claim is None:
            done(Outcome(page.slug, channel.name, slot, "skipped", "already distributed in this slot or in progress elsewhere"))
            continue
        if post is None:
            ledger.finish(claim.id, "failed", error=f"drafting failed: {item.error}")
            done(Outcome(page.slug, channel.name, slot, "failed", f"drafting failed: {item.error}"))
            continue
        if broken:
            ledger.finish(claim.id, "failed", error=broken)
            done(Outcome(page.slug, channel.name, slot, "failed", broken))
            continue
        if channel.live and pacing.min_gap_seconds and last_post_at is not None:
            wait = pacing.min_gap_seconds - (time.monotonic() - last_post_at)
            if wait > 0:
                sleep(wait)
        outcome = _send(ledger, channel, claim.id, claim.key, post, page.slug, slot, sleep)
        last_post_at = time.monotonic()
        if outcome.status == "failed" and outcome.detail.startswith("auth:"):
            broken = outcome.detail
        outcome.generator = item.draft.generator
        outcome.text = post.text
        outcome.tokens_in, outcome.tokens_out = item.draft.tokens_in, item.draft.tokens_out
        outcome.cost_usd = item.draft.cost_usd
        done(outcome)
    return outcomes


def _send(ledger: Ledger, channel: Channel, event_id: int, key: str, post: Post, page: str, slot: str,
          sleep: Callable[[float], None]) -> Outcome:
    status_ok = "published" if channel.live else "dry_run"
    attempt = 0
    while True:
        attempt += 1
        sent_at = utcnow()
        try:
            result = channel.publish(post, key)
        except RateLimited as exc:
            wait = exc.retry_after if exc.retry_after is not None else 2.0 ** attempt
            if attempt < MAX_ATTEMPTS and wait <= MAX_WAIT_SECONDS:
                sleep(max(wait, 0.0))
                continue
            msg = f"rate limited: {exc}" + (f" (retry after {wait:.0f}s)" if wait else "")
            ledger.finish(event_id, "failed", error=msg)
            return Outcome(page, channel.name, slot, "failed", msg + "; the next run retries")
        except AuthError as exc:
            msg = f"auth: {exc}"
            ledger.finish(event_id, "failed", error=msg)
            return Outcome(page, channel.name, slot, "failed", msg)
        except Rejected as exc:
            ledger.finish(event_id, "rejected", error=str(exc))
            return Outcome(page, channel.name, slot, "rejected", str(exc))
        except Unconfirmed as exc:
            found = _lookup_quietly(channel, post, key, sent_at)
            if found:
                ledger.finish(event_id, status_ok, platform_id=found.id, platform_url=found.url, error=None)
                return Outcome(page, channel.name, slot, status_ok, "confirmed by lookup", found.id, found.url)
            ledger.finish(event_id, "unconfirmed", error=str(exc))
            how = "the next run looks it up" if channel.can_lookup else "check the platform: citecast ledger pending"
            return Outcome(page, channel.name, slot, "unconfirmed", f"{exc}; {how}")
        except ChannelError as exc:  # a definite failure the platform reported (e.g. 5xx before accepting)
            if attempt < MAX_ATTEMPTS:
                sleep(min(2.0 ** attempt, 30.0))
                continue
            ledger.finish(event_id, "failed", error=str(exc))
            return Outcome(page, channel.name, slot, "failed", f"{exc}; the next run retries")
        except Exception as exc:  # an adapter bug must not take the other posts down
            # The call may have reached the platform: treat it as unknown, never re-post blindly.
            msg = f"unexpected {type(exc).__name__}: {exc}"
            ledger.finish(event_id, "unconfirmed", error=msg)
            return Outcome(page, channel.name, slot, "unconfirmed", msg)
        ledger.finish(event_id, status_ok, platform_id=result.id, platform_url=result.url, error=None)
        return Outcome(page, channel.name, slot, status_ok, "", result.id, result.url)


def _lookup_quietly(channel: Channel, post: Post, key: str, since: datetime):
    if not channel.can_lookup:
        return None
    try:
        return channel.lookup(post, key, since - timedelta(minutes=5))
    except Exception:
        return None


def _aware(ts: datetime) -> datetime:
    from datetime import timezone

    return ts if ts.tzinfo else ts.replace(tzinfo=timezone.utc)
