"""`citecast serve`: the deployments of prefect.yaml, served from one process.

Keep the two in step (names, schedules, limits): a test compares them. No
deployment has a `concurrency_limit`: a run paused for review would lose its
lease and crash (see flows/review.py); the ledger's claims keep posts single.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import threading
import time

from prefect.runner import Runner
from prefect.schedules import Cron

from citecast.settings import Settings
from citecast.flows.distribute import weekly_distribution
from citecast.flows.engagement import engagement_readback
from citecast.flows.probe import citation_probe
from citecast.flows.report import citation_report


def deployments(settings: Settings) -> list:
    tz = settings.site.timezone
    cron = settings.schedule
    return [
        weekly_distribution.to_deployment(
            name="weekly-distribution", schedules=[Cron(cron.distribution_cron, timezone=tz)],
            description="Post the week's due pages to their channels, each linking its canonical URL.",
            tags=["citecast", "distribution"],
        ),
        citation_probe.to_deployment(
            name="citation-probe", schedules=[Cron(cron.probe_cron, timezone=tz)],
            description="Ask AI answer engines the tracked queries and log the URLs they cite.",
            tags=["citecast", "citations"],
        ),
        citation_report.to_deployment(
            name="citation-report", schedules=[Cron(cron.report_cron, timezone=tz)],
            description="Citation pickup by topic, freshness and cohort, as artifacts, HTML and CSV.",
            tags=["citecast", "citations"],
        ),
        engagement_readback.to_deployment(
            name="engagement-readback", schedules=[Cron(cron.engagement_cron, timezone=tz)],
            description="Read the platforms' counts of live posts back at +1, +7 and +28 days.",
            tags=["citecast", "distribution"],
        ),
    ]


# After SIGTERM or SIGINT the runner cancels its runs and pauses its schedules
# through the API; with the server gone those calls retry for minutes, so the
# process ends on its own this long after the signal.
STOP_GRACE_SECONDS = 15.0


class _Runner(Runner):
    def handle_sigterm(self, *args, **kwargs) -> None:
        _exit_later(STOP_GRACE_SECONDS)
        super().handle_sigterm(*args, **kwargs)


def _exit_later(seconds: float) -> None:
    def stop() -> None:
        time.sleep(seconds)
        print(f"citecast serve: still stopping after {seconds:g} s (Prefect server unreachable?); exiting",
              file=sys.stderr, flush=True)
        os._exit(1)

    threading.Thread(target=stop, name="citecast-serve-stop", daemon=True).start()


def serve_all(settings: Settings) -> None:
    """Serve the deployments until SIGTERM or SIGINT (Ctrl-C); either stops within STOP_GRACE_SECONDS."""
    served = deployments(settings)
    runner = _Runner()
    for deployment in served:
        runner.add_deployment(deployment)
    # SIGINT the same way as SIGTERM (Prefect installs SIGTERM's when the runner starts).
    signal.signal(signal.SIGINT, lambda *_: runner.handle_sigterm())
    names = ", ".join(f"{d.flow_name}/{d.name}" for d in served)
    print(f"citecast: deployments being served: {names}. Stop with Ctrl-C or SIGTERM.", flush=True)
    try:
        asyncio.run(runner.start())
    except (KeyboardInterrupt, SystemExit):
        pass
