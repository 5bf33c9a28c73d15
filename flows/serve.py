"""`citecast serve`: the deployments of prefect.yaml, served from one process.

Keep the two in step (names, schedules, limits): a test compares them.
"""

from __future__ import annotations

from prefect import serve
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
            tags=["citecast", "distribution"], concurrency_limit=1,
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


def serve_all(settings: Settings) -> None:
    serve(*deployments(settings))
