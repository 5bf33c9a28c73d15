"""The citation probe flow: ask answer engines the tracked queries, log what they cite.

Scheduled daily (prefect.yaml); run by hand with `python flows/probe.py` or
`citecast probe`. Concurrency is client-side (citations.concurrency threads in
one task): a Prefect task per answer would cost more than the answer.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

if __package__ in (None, ""):  # `python flows/probe.py` from a checkout
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from citecast.settings import load_settings
from citecast.citations.probe import ProbeResult, run_probe


@task(name="probe engines", cache_policy=NO_CACHE)
def probe_task(settings, engines: Optional[list[str]] = None, samples: Optional[int] = None,
               topic: Optional[str] = None) -> ProbeResult:
    return run_probe(settings, engine_names=engines or None, samples=samples, topic=topic)


def probe_markdown(result: ProbeResult) -> str:
    lines = [f"# Citation probe {result.run_id}", "",
             f"{len(result.recorded)} of {result.asked} answers recorded; {len(result.failures)} failed; "
             f"brand mentioned in {result.brand_mentions}.", "", "| page | answers citing it |", "|---|---|"]
    lines += [f"| {slug} | {n} |" for slug, n in sorted(result.cited_pages.items())] or ["| – | 0 |"]
    if result.notices:
        lines += ["", "## Notices", ""] + [f"- {n}" for n in result.notices]
    if result.failures:
        lines += ["", "## Failures (after retries)", ""] + [f"- {f}" for f in result.failures[:50]]
    return "\n".join(lines) + "\n"


@flow(name="citation-probe", log_prints=True)
def citation_probe(engines: Optional[list[str]] = None, samples: Optional[int] = None,
                   topic: Optional[str] = None) -> dict:
    """Ask each engine each tracked query `samples` times (defaults from [citations])."""
    settings = load_settings()
    result = probe_task(settings, engines, samples, topic)
    log = get_run_logger()
    for notice in result.notices:
        log.warning(notice)
    for failure in result.failures:
        log.error(str(failure))
    create_markdown_artifact(key="citation-probe", markdown=probe_markdown(result),
                             description="Answers recorded and pages cited")
    if result.failures and not result.recorded:
        raise RuntimeError(f"every call failed ({len(result.failures)}); first: {result.failures[0]}")
    return {"recorded": len(result.recorded), "failed": len(result.failures), "cited_pages": result.cited_pages}


if __name__ == "__main__":
    citation_probe()
