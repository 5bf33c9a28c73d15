"""Engagement read-back: the platforms' own counts of each live post at +1, +7 and +28 days.

Runs daily (prefect.yaml), so every snapshot is taken within a day of being
due; `citecast engagement` runs the same by hand. A rate-limited or failing
channel is left for the next run (retries here would only hit the same limit).
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # `python flows/engagement.py` from a checkout
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from citecast.settings import load_settings


@task(name="read engagement back", cache_policy=NO_CACHE)
def read_back_task(settings, on_demand: bool = False) -> dict:
    from citecast.citations.model import open_ledger
    from citecast.distribution.engagement import read_back

    ledger = open_ledger(settings)
    try:
        result = read_back(settings, ledger, on_demand=on_demand)
    finally:
        ledger.close()
    return {"summary": result.summary(), "taken": dict(result.taken), "failed": result.failed}


@flow(name="engagement-readback", log_prints=True)
def engagement_readback(now: bool = False) -> dict:
    """Snapshot the due posts' counts (or every live post, with now=True) into the ledger."""
    settings = load_settings()
    result = read_back_task(settings, now)
    get_run_logger().info(result["summary"])
    create_markdown_artifact(key="engagement-readback", markdown="```\n" + result["summary"] + "\n```",
                             description="Engagement snapshots taken by this run")
    return result


if __name__ == "__main__":
    engagement_readback()
