"""Publishing exactly once: claim in the ledger, call the platform, confirm.

    claim (pending; platform key stored) ─mark sent─ publish ──> published | dry_run
         │             ├─ RateLimited ─> wait and retry, else failed (next run retries)
         │             ├─ Rejected ────> rejected (a person decides)
         │             ├─ Duplicate ───> after an unknown outcome: the existing post is ours
         │             ├─ AuthError ───> failed, and the channel stops for this run
         │             └─ Unconfirmed ─> looked up now; else unconfirmed until settled
         └─ no claim: done already, or another run holds it

An unknown outcome is never released blindly. `reconcile` (before a channel
publishes, and again after it when a grace period ends soon) takes each
unconfirmed event, and each pending one whose process died after it started a
send, and settles it:

    re-send is safe (record key, idempotency key) ──> send again with the same key
    lookup failed or stopped at its bound ───────────> stays unconfirmed (looked up next run)
    found ───────────────────────────────────────────> published, noting how it was found
    not found, inside the grace period ──────────────> stays unconfirmed (indexing lag) until eligible_at
    not found after it (the lookup began after it) ──> sent again, same platform key, same text
    lookup not permitted (LinkedIn without r_member_social), after the grace period
                                                   ──> the identical post again: DUPLICATE_POST names it

A duplicate refusal after an unknown outcome means the first attempt landed:
the post it names (or a lookup finds) is recorded; while neither can show it
the event waits and is never sent again. Only when the ledger holds another
post with the same text was the refusal about that one, and the event is
rejected.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Callable, Iterable

from citecast.channels.base import (
    AuthError,
    Channel,
    ChannelError,
    Duplicate,
    LookupNotPermitted,
    Misconfigured,
    RateLimited,
    Rejected,
    Ticket,
    Unconfirmed,
)
from citecast.ledger.store import Ledger, event_key, owner_is_gone
from citecast.ledger.tables import EventRow, utcnow
from citecast.pages.loading import Page
from citecast.posts import Draft, Post, Published
from citecast.words import count

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


def ticket_of(ledger: Ledger, event: EventRow) -> Ticket:
    """The event as the channel needs it; thread parts are written to the ledger as they go."""
    # Events from before send times were recorded (migration 0004) fall back to when they were claimed.
    since = event.doubt_since or event.last_sent_at or event.created_at
    return Ticket(
        key=event_key(event.page, event.channel, event.slot, event.seq),
        platform_key=event.platform_key,
        since=_aware(since) if since else None,
        steps=[dict(st or {}) for st in event.steps or []],
        on_steps=lambda steps: ledger.set_steps(event.id, steps),
        taken=lambda platform_id: ledger.holder_of(event.channel, platform_id, event.id) is not None,
    )


class _Event:
    """One event this process holds, and how to record what happens to it."""

    def __init__(self, ledger: Ledger, channel: Channel, row: EventRow, post: Post):
        self.ledger, self.channel, self.row, self.post = ledger, channel, row, post
        self.ticket = ticket_of(ledger, row)

    def outcome(self, status: str, detail: str = "", found: Published | None = None) -> Outcome:
        r = self.row
        return Outcome(r.page, r.channel, r.slot, status, detail, found.id if found else None,
                       found.url if found else None)

    def done(self, found: Published, note: str = "") -> Outcome:
        status = "published" if self.channel.live else "dry_run"
        self.ledger.finish(self.row.id, status, platform_id=found.id, platform_url=found.url,
                           found_by=found.found_by, error=None)
        return self.outcome(status, note or ("" if found.found_by == "publish response" else f"found by {found.found_by}"),
                            found)

    def end(self, status: str, message: str) -> Outcome:
        self.ledger.finish(self.row.id, status, error=message)
        return self.outcome(status, message)

    def wait(self, reason: str, message: str, eligible_at: datetime | None) -> Outcome:
        self.ledger.wait(self.row.id, reason, message, eligible_at)
        return self.outcome("unconfirmed", message)

    def lookup(self) -> Published | None:
        """The channel's lookup, minus a post the ledger already records for another event (same words)."""
        found = self.channel.lookup(self.post, self.ticket)
        if found is not None and self.ledger.holder_of(self.channel.name, found.id, self.row.id) is not None:
            for step in self.ticket.steps:  # a thread's head is not ours either
                if step.get("id") == found.id:
                    step["id"] = None
            self.ticket.on_steps(self.ticket.steps)
            return None
        return found

    def eligible_at(self) -> datetime:
        """When a post still not found may be sent again: the grace period after the last send."""
        fresh = self.ledger.get(self.row.id) or self.row
        last = fresh.last_sent_at or fresh.updated_at or fresh.created_at
        return (_aware(last) if last else utcnow()) + self.channel.grace_period


def reconcile(ledger: Ledger, channel: Channel, owner: str, run_id: str,
              options_for: Callable[[str], dict] = lambda slug: {},
              sleep: Callable[[float], None] = time.sleep) -> list[Outcome]:
    """Settle this channel's events whose outcome was not known."""
    out: list[Outcome] = []
    now = utcnow()
    for ev in ledger.open_events(channel.name):
        if ev.status == "pending":
            if not owner_is_gone(ev.owner, ev.lease_until, now) or not ledger.retake_stale(ev.id, owner, run_id, now):
                continue  # another live run is on it
            if ev.last_sent_at is None:  # it died before calling the platform: nothing can have landed
                ledger.finish(ev.id, "failed", error="the run stopped before sending; posted again when due")
                out.append(Outcome(ev.page, ev.channel, ev.slot, "released", "the run stopped before sending"))
                continue
            ledger.doubt(ev.id)  # it died during a send: that send may have landed
            ev = ledger.get(ev.id)
        elif not ledger.take_unconfirmed(ev.id, owner, run_id):
            continue  # another run is settling it
        held = _Event(ledger, channel, ev, post_of(ev, {**channel.options, **options_for(ev.page)}))
        outcome = _settle(held, sleep)
        outcome.generator, outcome.text = ev.generator, (ev.text[0] if len(ev.text or []) == 1 else ev.text)
        out.append(outcome)
    return out


def _settle(ev: _Event, sleep: Callable[[float], None]) -> Outcome:
    """Decide one held event whose outcome is unknown (see the module docstring)."""
    channel, row, now = ev.channel, ev.row, utcnow()
    eligible = _aware(row.eligible_at) if row.eligible_at else ev.eligible_at()
    if channel.resend_is_safe(ev.ticket, now) and now >= eligible:
        return _send(ev, sleep)
    if not channel.can_lookup:
        return ev.wait("person", row.error or "the outcome is unknown; check the platform, then "
                       "`citecast ledger resolve`", None)
    try:
        found = ev.lookup()
    except LookupNotPermitted as exc:
        if not channel.resend_reveals_duplicate:
            return ev.wait("person", f"{exc}; check the platform, then `citecast ledger resolve`", None)
        if now >= eligible:
            return _send(ev, sleep)  # the identical post: a refusal names the first one, a success means it never landed
        return ev.wait("scope", f"{exc}: the identical post is sent again from {_hm(eligible)}, when a repeat "
                       "is refused naming the first", eligible)
    except Unconfirmed as exc:  # a thread's missing tail went out and its outcome is unknown
        return ev.wait("lag", f"{exc}; looked up again from {_hm(ev.eligible_at())}", ev.eligible_at())
    except ChannelError as exc:  # a read failed or stopped at its bound: the post may exist
        return ev.wait("lookup", f"lookup failed ({exc}); looked up again next run, never re-sent blindly", eligible)
    if found:
        return ev.done(found)
    if row.wait_reason == "exists":  # the platform refused a repeat: a copy exists, never send again
        # Not "an older post" because a lookup missed it: the ledger knows no other post with this text,
        # so the copy is ours, still being indexed. A person can settle it with `citecast ledger resolve`.
        later = max(eligible, now) + channel.grace_period
        return ev.wait("exists", row.error or "refused as a repeat", later)
    if now < eligible:
        return ev.wait("lag", f"not found yet (the platform may still be indexing it): sent again from "
                              f"{_hm(eligible)} if a lookup then still misses it", eligible)
    return _send(ev, sleep)  # a lookup after the grace period missed it: the earlier send never landed


def settle(ledger: Ledger, channel: Channel, owner: str, run_id: str, max_wait: float,
           options_for: Callable[[str], dict] = lambda slug: {},
           sleep: Callable[[float], None] = time.sleep) -> list[Outcome]:
    """After a channel's posts: wait out grace periods that end within `max_wait` seconds and reconcile again.

    Each event is taken up once per eligibility it reaches: one whose lookup keeps failing (its
    eligible_at unchanged) waits for the next run instead of being looked up in a loop.
    """
    out: list[Outcome] = []
    deadline = time.monotonic() + max_wait
    tried: dict[int, datetime] = {}
    while True:
        waiting = [ev for ev in ledger.open_events(channel.name)
                   if ev.status == "unconfirmed" and ev.eligible_at and tried.get(ev.id) != ev.eligible_at]
        if not waiting:
            return out
        soonest = min(_aware(ev.eligible_at) for ev in waiting)
        pause = max(0.0, (soonest - utcnow()).total_seconds()) + 0.05
        if time.monotonic() + pause > deadline:
            return out
        wake = utcnow() + timedelta(seconds=pause)
        tried.update({ev.id: ev.eligible_at for ev in waiting if _aware(ev.eligible_at) <= wake})
        sleep(pause)
        out += reconcile(ledger, channel, owner, run_id, options_for, sleep)


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
    broken: str | None = None  # set when credentials or settings fail: the rest of the channel waits
    last_post_at: float | None = None

    def done(outcome: Outcome) -> None:
        outcomes.append(outcome)
        on_outcome(outcome)

    for item in items:
        page = item.page
        if pacing.daily_cap and channel.live:
            if ledger.count_published_since(channel.name, utcnow() - timedelta(days=1)) >= pacing.daily_cap:
                done(Outcome(page.slug, channel.name, slot, "deferred", f"daily cap of {count(pacing.daily_cap, 'post')} reached"))
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
            angle=item.draft.angle if item.draft else None,
        )
        # A dry run left in this slot may be replaced by the real post once the channel is live.
        retake = ("failed", "dry_run") if channel.live else ("failed",)
        key = event_key(page.slug, channel.name, slot, seq)
        claim = ledger.claim(page=page.slug, channel=channel.name, slot=slot, seq=seq, owner=owner, run_id=run_id,
                             retake=retake, platform_key=channel.new_platform_key(key), **fields)
        if claim is None:
            done(Outcome(page.slug, channel.name, slot, "skipped", "already distributed in this slot or in progress elsewhere"))
            continue
        if post is None:
            ledger.finish(claim.id, "failed", error=f"drafting failed: {item.error}")
            done(Outcome(page.slug, channel.name, slot, "failed", f"drafting failed: {item.error}"))
            continue
        if broken:
            ledger.finish(claim.id, "failed", error=broken)
            done(Outcome(page.slug, channel.name, slot, "failed", "not sent: " + broken.split(":", 1)[0] + " error above"))
            continue
        if channel.live and pacing.min_gap_seconds and last_post_at is not None:
            wait = pacing.min_gap_seconds - (time.monotonic() - last_post_at)
            if wait > 0:
                sleep(wait)
        row = ledger.get(claim.id)
        if list(row.text or []) != list(post.parts) or row.title != post.title:
            post = post_of(row, post.options)  # a retake re-sends the text that may have landed, unchanged
        outcome = _send(_Event(ledger, channel, row, post), sleep)
        last_post_at = time.monotonic()
        if outcome.status == "failed" and outcome.detail.startswith(("auth:", "config:")):
            broken = outcome.detail
        outcome.generator = item.draft.generator
        outcome.text = post.text
        outcome.tokens_in, outcome.tokens_out = item.draft.tokens_in, item.draft.tokens_out
        outcome.cost_usd = item.draft.cost_usd
        done(outcome)
    return outcomes


def _send(ev: _Event, sleep: Callable[[float], None]) -> Outcome:
    """Call the platform (again, with the same platform key and text) and record what it says."""
    channel, ledger = ev.channel, ev.ledger
    attempt = 0
    while True:
        attempt += 1
        sent_at = ledger.mark_sent(ev.row.id)
        try:
            result = channel.publish(ev.post, ev.ticket)
        except RateLimited as exc:
            wait = exc.retry_after if exc.retry_after is not None else 2.0 ** attempt
            if attempt < MAX_ATTEMPTS and wait <= MAX_WAIT_SECONDS:
                sleep(max(wait, 0.0))
                continue
            msg = f"rate limited: {exc}" + (f" (retry after {wait:.0f}s)" if wait else "")
            return _not_sent(ev, msg + "; the next run retries")
        except Misconfigured as exc:
            return _not_sent(ev, f"config: {exc}")
        except AuthError as exc:
            return _not_sent(ev, f"auth: {exc}")
        except Duplicate as exc:
            return _duplicate(ev, exc)
        except Rejected as exc:
            return ev.end("rejected", str(exc))
        except Unconfirmed as exc:
            ev.ticket.since = ev.ticket.since or sent_at
            ledger.doubt(ev.row.id)
            if channel.resend_is_safe(ev.ticket, utcnow()) and channel.grace_period <= timedelta(0) \
                    and attempt < MAX_ATTEMPTS:
                sleep(min(2.0 ** attempt, 30.0) / 4)
                continue  # the platform deduplicates on the ticket's key: sending again is harmless
            return _unknown(ev, str(exc))
        except ChannelError as exc:  # a definite failure (nothing was sent): retried
            if attempt < MAX_ATTEMPTS:
                sleep(min(2.0 ** attempt, 30.0))
                continue
            return _not_sent(ev, f"{exc}; the next run retries")
        except Exception as exc:  # an adapter bug must not take the other posts down
            # The call may have reached the platform: treat it as unknown, never re-post blindly.
            ev.ticket.since = ev.ticket.since or sent_at
            ledger.doubt(ev.row.id)
            return _unknown(ev, f"unexpected {type(exc).__name__}: {exc}")
        return ev.done(result)


def _not_sent(ev: _Event, message: str) -> Outcome:
    """A definite failure; but once a send of this event may have landed, it stays unknown, never failed."""
    fresh = ev.ledger.get(ev.row.id)
    if fresh is not None and fresh.doubt_since is not None:
        eligible = _aware(fresh.eligible_at) if fresh.eligible_at else ev.eligible_at()
        return ev.wait(fresh.wait_reason or "lag", f"{message} (an earlier attempt may have landed: settled "
                                                   "by the next run)", eligible)
    return ev.end("failed", message)


def _unknown(ev: _Event, message: str) -> Outcome:
    """The send's outcome is unknown: a quick lookup, else unconfirmed until the grace period ends."""
    channel = ev.channel
    if not channel.can_lookup and not channel.resend_is_safe(ev.ticket, utcnow()):
        return ev.wait("person", f"{message}; check the platform, then `citecast ledger resolve`", None)
    found = None
    if channel.can_lookup:
        try:
            found = ev.lookup()
        except Exception:  # noqa: BLE001 - a failed lookup only means: not known yet
            found = None
    if found:
        return ev.done(found)
    eligible = ev.eligible_at()
    return ev.wait("lag", f"{message}; not found yet: looked up again, and sent again from {_hm(eligible)} only "
                          "if still missing", eligible)


def _duplicate(ev: _Event, exc: Duplicate) -> Outcome:
    """A refused repeat: after an unknown outcome the first attempt landed and is ours; else a content problem."""
    fresh = ev.ledger.get(ev.row.id)
    if fresh is None or fresh.doubt_since is None:
        return ev.end("rejected", f"{exc} (a repeat of an earlier post: change the text, or wait for another angle)")
    if exc.existing is not None:
        other = ev.ledger.holder_of(ev.channel.name, exc.existing.id, ev.row.id)
        if other is None:
            return ev.done(exc.existing, f"the repeat was refused naming the post the unknown attempt made "
                                         f"({exc.existing.id})")
        return ev.end("rejected", f"{exc}: that is the post of {other.page} in {other.slot}; change the text")
    try:
        found = ev.lookup() if ev.channel.can_lookup else None
    except ChannelError:
        found = None
    if found:
        return ev.done(Published(found.id, found.url, found_by="lookup after a duplicate refusal"))
    other = _same_text_published(ev)
    if other is not None:
        return ev.end("rejected", f"{exc}: the same text is the post of {other.page} in {other.slot}; change the text")
    eligible = utcnow() + ev.channel.grace_period
    return ev.wait("exists", f"{exc}: the unknown attempt landed; recorded once a lookup shows it (looked up "
                             f"again from {_hm(eligible)}; never sent again)", eligible)


def _same_text_published(ev: _Event) -> EventRow | None:
    """Another published event of this channel that carries any of this post's parts, word for word."""
    parts = set(ev.post.parts)
    for other in ev.ledger.events(channel=ev.channel.name, status=["published"], limit=None):
        if other.id != ev.row.id and parts & set(other.text or []):
            return other
    return None


def _hm(ts: datetime) -> str:
    return _aware(ts).strftime("%Y-%m-%d %H:%M:%S UTC")


def _aware(ts: datetime) -> datetime:
    return ts if ts.tzinfo else ts.replace(tzinfo=timezone.utc)
