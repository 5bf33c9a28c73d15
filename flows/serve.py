"""`citecast serve`: the deployments of prefect.yaml, served from one process."""

from __future__ import annotations

from prefect import serve
from prefect.schedules import Cron

from citecast.config import Settings
from flows.distribute import weekly_distribution


def serve_all(settings: Settings) -> None:
    tz = settings.site.timezone
    deployments = [
        weekly_distribution.to_deployment(
            name="weekly-distribution",
            schedules=[Cron(settings.schedule.distribution_cron, timezone=tz)],
            description="Post the week's due pages to their channels.",
        )
    ]
    serve(*deployments)
