"""The weekly distribution flow: plan, draft in batches, publish per channel.

Run it with `citecast run`, `python flows/distribute.py`, from a deployment
(prefect.yaml, `citecast serve`) or by hand from the Prefect UI.
"""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path

if __package__ in (None, ""):  # `python flows/distribute.py` from a checkout
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from citecast import pipeline
from citecast.config import load_settings
from citecast.summary import markdown_summary, summary_dict

# Pages drafted per task: a Prefect task costs tens of milliseconds to record,
# so a 500-page week is 20 draft tasks, not 500.
DRAFT_BATCH = 25


class ChannelName(str, Enum):
    x = "x"
    linkedin = "linkedin"
    reddit = "reddit"
    bluesky = "bluesky"
    mastodon = "mastodon"


@task(name="plan the week", cache_policy=NO_CACHE)
def plan_task(settings, ledger, options):
    plan = pipeline.plan_week(settings, ledger, options)
    log = get_run_logger()
    for problem in plan.library.problems:
        (log.error if problem.severity == "error" else log.warning)(str(problem))
    for name, resolved in plan.channels.items():
        log.info("channel %s: %s (%s)", name, "live" if resolved.live else "dry run", resolved.reason)
    log.info("week %s: %d page(s) due, %d not due", plan.slot, len(plan.selection.due), len(plan.selection.not_due))
    return plan


@task(name="draft", cache_policy=NO_CACHE, retries=1, retry_delay_seconds=5)
def draft_task(plan, batch):
    drafted = pipeline.make_drafter(plan.settings).draft_pages(batch)
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


@flow(name="weekly-distribution", log_prints=True)
def weekly_distribution(
    pages: list[str] | None = None,
    channels: list[ChannelName] | None = None,
    dry_run: bool = False,
    week: str | None = None,
    force: bool = False,
) -> dict:
    """Post this week's due pages to their channels, each linking its canonical URL.

    Args:
        pages: Slugs of the pages to distribute (file names without .md). Empty: every due page, up to the weekly budget.
        channels: Channels to post on. Empty: every channel each page names.
        dry_run: Write the posts to the outbox instead of publishing them.
        week: ISO week to run for, like 2026-W48. Empty: the current week in the site's timezone.
        force: Post again even where the page was already distributed this week.
    """
    settings = load_settings()
    options = pipeline.RunOptions(
        pages=pages or None,
        channels=[c.value if isinstance(c, Enum) else str(c) for c in channels] if channels else None,
        dry_run=dry_run,
        week=week or None,
        force=force,
    )
    ledger = pipeline.open_ledger(settings)
    try:
        plan = plan_task(settings, ledger, options)
        work = plan.work()
        batches = [work[i : i + DRAFT_BATCH] for i in range(0, len(work), DRAFT_BATCH)]
        drafted = [pd for f in [draft_task.submit(plan, b) for b in batches] for pd in f.result()]
        used = sorted({c for pd in drafted for c in (*pd.drafts, *pd.errors)})
        futures = [publish_task.submit(plan, ledger, drafted, ch) for ch in used]
        outcomes = [o for f in futures for o in f.result()]
    finally:
        ledger.close()
    report = pipeline.report_of(plan, outcomes)
    create_markdown_artifact(markdown_summary(report), key="weekly-distribution", description=f"Distribution {report.slot}")
    return summary_dict(report)


if __name__ == "__main__":
    weekly_distribution()
