"""The weekly distribution flow: plan, draft in batches, publish per channel.

Run it with `citecast run`, `python flows/distribute.py`, from a deployment
(prefect.yaml, `citecast serve`) or by hand from the Prefect UI.
"""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Annotated

if __package__ in (None, ""):  # `python flows/distribute.py` from a checkout
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.states import Failed
from prefect.task_runners import ThreadPoolTaskRunner
from pydantic import AfterValidator, Field

from citecast.distribution import run as pipeline
from citecast.distribution.form import ALL_DUE, AS_CONFIGURED, THIS_WEEK, check_channels, check_pages_shape, check_week
from citecast.distribution.form import unknown_pages
from citecast.distribution.summary import markdown_summary, post_rows, summary_dict
from citecast.flows.approval import approval_form, label
from citecast.flows.review import wait_for_decision
from citecast.settings import ConfigError, load_settings
from citecast.words import count, plural

# Pages drafted per task: a Prefect task costs tens of milliseconds to record,
# so a 500-page week is 20 draft tasks, not 500.
DRAFT_BATCH = 25


class ChannelChoice(str, Enum):
    as_configured = AS_CONFIGURED
    x = "x"
    linkedin = "linkedin"
    reddit = "reddit"
    bluesky = "bluesky"
    mastodon = "mastodon"


# The week is checked by our own words (the UI's pattern check would say only "does not match").
Week = Annotated[str, AfterValidator(lambda v: check_week(v) or THIS_WEEK)]


@task(name="plan the week", cache_policy=NO_CACHE)
def plan_task(settings, ledger, options):
    plan = pipeline.plan_week(settings, ledger, options)
    log = get_run_logger()
    for problem in plan.library.errors:
        log.error(str(problem))
    for problem in plan.library.warnings:
        log.info(str(problem))
    weak = sorted({p.file for p in plan.library.warnings})
    if weak:
        log.warning("%s %s warnings (weak source pages are the known failure mode): %s; see `citecast check`",
                    count(len(weak), "page"), plural("has", len(weak)), ", ".join(weak[:5]) + (", ..." if len(weak) > 5 else ""))
    for name, resolved in plan.channels.items():
        log.info("channel %s: %s (%s)", name, "live" if resolved.live else "dry run", resolved.reason)
    log.info("week %s: %s due, %d not due", plan.slot, count(len(plan.selection.due), "page"), len(plan.selection.not_due))
    return plan


@task(name="draft", cache_policy=NO_CACHE, retries=1, retry_delay_seconds=5)
def draft_task(plan, batch, ledger=None):
    drafted = pipeline.make_drafter(plan.settings, ledger, plan.run_id).draft_pages(batch)
    log = get_run_logger()
    for pd in drafted:
        for channel, error in pd.errors.items():
            log.error("%s on %s: no valid draft: %s", pd.page.slug, channel, error)
    return drafted


@task(name="publish", cache_policy=NO_CACHE, task_run_name="publish on {channel}")
def publish_task(plan, ledger, drafted, channel: str):
    outcomes = pipeline.publish_all(plan, ledger, drafted, channel, on_outcome=pipeline.notify)
    log = get_run_logger()
    for o in outcomes:
        line = f"{o.page} on {o.channel}: {o.status}" + (f" ({o.detail})" if o.detail else "")
        (log.warning if o.status in ("failed", "unconfirmed", "rejected") else log.info)(line)
    return outcomes


@task(name="reject", cache_policy=NO_CACHE)
def reject_task(plan, ledger, rejected, reason: str):
    outcomes = pipeline.reject_drafts(plan, ledger, rejected, reason, on_outcome=pipeline.notify)
    log = get_run_logger()
    for o in outcomes:
        log.info("%s on %s: %s (%s)", o.page, o.channel, o.status, o.detail)
    return outcomes


def ask_for_review(plan, drafted, timeout_hours: float) -> tuple[set[str], str] | None:
    """Show the drafts, pause until an editor decides in the UI; None when nobody did in time."""
    log = get_run_logger()
    text, folder = pipeline.write_review(plan, drafted)
    keys = pipeline.review_keys(drafted)
    create_markdown_artifact(text, key="weekly-distribution-review", description=f"Drafts for review, week {plan.slot}")
    if not keys:
        log.info("review: nothing to approve")
        return set(), ""
    titles = {pd.page.slug: pd.page.title for pd in drafted}
    posts = {k: label(titles[k.rsplit(":", 1)[0]], k.rsplit(":", 1)[1], k) for k in keys}
    log.info("review: %s %s for a decision in the UI (Resume on this run, within %s); also in %s",
             count(len(keys), "post"), plural("waits", len(keys)), _duration(timeout_hours), folder)
    form = approval_form(
        posts,
        description=f"**Week {plan.slot}**: {count(len(keys), 'post')}. Read them in this run's artifacts "
                    f"(or {folder}), then approve all, approve some, or reject with a reason.",
    )
    # Run input keys may hold only lowercase letters, digits and dashes.
    answer = wait_for_decision(form, timeout_hours * 3600, key=f"review-{plan.slot.lower()}",
                               message=f"Review: {count(len(keys), 'post')} {plural('waits', len(keys))} for Resume "
                                       f"(within {_duration(timeout_hours)})")
    if answer is None:
        return None
    approved = answer.approved(keys)
    for key in answer.unknown(keys):
        log.warning("review: %s was not under review; ignored", key)
    log.info("review: %s; %d approved, %d rejected%s", answer.decision.value, len(approved), len(keys) - len(approved),
             f" ({answer.reason})" if answer.reason else "")
    return approved, answer.reason


@flow(name="weekly-distribution", log_prints=True, task_runner=ThreadPoolTaskRunner(max_workers=32))
def weekly_distribution(
    pages: list[str] = [ALL_DUE],  # noqa: B006 - never mutated; a list default shows in the UI's form
    channels: list[ChannelChoice] = [ChannelChoice.as_configured],  # noqa: B006
    dry_run: bool = False,
    week: Week = THIS_WEEK,
    force: bool = False,
    review: bool = False,
    review_timeout_hours: Annotated[float, Field(gt=0)] = 24.0,
) -> dict:
    """Post this week's due pages to their channels, each linking its canonical URL.

    Args:
        pages: 'all due' (every due page, up to the weekly budget), or page slugs: file names without .md.
        channels: 'as configured' (the channels each page names, else citecast.toml's), or the channels to post on.
        dry_run: Write the posts to the outbox instead of publishing them.
        week: 'this week' (in the site's timezone) or an ISO week like 2026-W49.
        force: Post again even where the page was already distributed this week.
        review: Pause after drafting until an editor approves the posts in the Prefect UI (approve all, some, or reject with a reason).
        review_timeout_hours: With review on: hours to wait for a decision; after that the run fails and nothing is posted.
    """
    settings = load_settings()
    options = pipeline.RunOptions(pages=check_pages_shape(pages), channels=check_channels(channels),
                                  dry_run=dry_run, week=check_week(week), force=force)
    try:
        pipeline.check_drafter(settings)
        ledger = pipeline.open_ledger(settings)
    except ConfigError as exc:
        # One line in the run's logs and as the run's state message: a configuration
        # problem (an LLM key, a ledger URL) is not a crash, so no traceback (and no task retries) for it.
        get_run_logger().error(str(exc))
        return Failed(message=str(exc))
    log = get_run_logger()
    outcomes: list = []
    note = ""
    plan = None
    try:
        plan = plan_task(settings, ledger, options)
        wrong = unknown_pages(options.pages, [p.slug for p in plan.library.pages])
        if wrong:
            raise ValueError(wrong)
        work = plan.work()
        batches = [work[i : i + DRAFT_BATCH] for i in range(0, len(work), DRAFT_BATCH)]
        drafted: list = []
        if not review:
            outcomes = publish_as_drafted(plan, ledger, batches)
        else:
            drafted = [pd for f in [draft_task.submit(plan, b, ledger) for b in batches] for pd in f.result()]
        if review and drafted:
            ledger.close()  # no database connections held open while an editor reads
            decision = ask_for_review(plan, drafted, review_timeout_hours)
            if decision is None:
                note = f"review timed out after {_duration(review_timeout_hours)}: nothing posted"
                log.error(note)
                outcomes += pipeline.waiting_outcomes(plan, drafted, "waited for review")
                drafted = []
            else:
                approved, reason = decision
                drafted, rejected = pipeline.split_review(drafted, approved)
                if rejected:
                    outcomes += reject_task(plan, ledger, rejected, reason)
        used = sorted({c for pd in drafted for c in (*pd.drafts, *pd.errors)})
        futures = [publish_task.submit(plan, ledger, drafted, ch) for ch in used]
        outcomes += [o for f in futures for o in f.result()]
    finally:
        ledger.close()
        if plan is not None:
            pipeline.release_budget(plan.run_id)  # a long-lived worker keeps no budget of a finished run
    report = pipeline.report_of(plan, outcomes)
    report.note = note
    create_markdown_artifact(markdown_summary(report), key="weekly-distribution", description=f"Distribution {report.slot}")
    rows = [{k: v for k, v in r.items() if k != "link_label"} for r in post_rows(report)]
    if rows:
        create_table_artifact(rows, key="weekly-distribution-posts", description=f"Posts, their text and links, week {report.slot}")
    result = summary_dict(report)
    if note:
        return Failed(message=note, data=result)
    return result


def publish_as_drafted(plan, ledger, batches) -> list:
    """Draft batch by batch and post each batch as soon as it is drafted.

    Two draft batches are in flight at once (enough to keep the LLM busy while
    one finishes its stragglers), and each channel posts its batches in order,
    one after the other, so pacing and exactly-once hold. Every task waits only
    on tasks submitted before it, so the chain always progresses.
    """
    drafts: list = []
    last_post: dict[str, object] = {}
    posts: list = []
    for i, batch in enumerate(batches):
        wait = [drafts[i - 2]] if i >= 2 else None
        drafted = draft_task.submit(plan, batch, ledger, wait_for=wait)
        drafts.append(drafted)
        for channel in sorted({c for _, chans in batch for c in chans}):
            before = [last_post[channel]] if channel in last_post else None
            last_post[channel] = publish_task.submit(plan, ledger, drafted, channel, wait_for=before)
            posts.append(last_post[channel])
    return [o for f in posts for o in f.result()]


def _duration(hours: float) -> str:
    return f"{hours:g} h" if hours >= 1 else f"{hours * 60:.0f} min" if hours * 60 >= 1 else f"{hours * 3600:.0f} s"


if __name__ == "__main__":
    weekly_distribution()
