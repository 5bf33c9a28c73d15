"""`citecast check --verify-urls`: does the site serve each canonical URL?

Off unless asked: it is the one part of `check` that uses the network. Each
URL is requested once (GET, redirects not followed, so a redirect is seen as
one), a few at a time, each with its own timeout. 404 and 410 are errors (a
post would link a page that does not exist); other failures and redirects
are warnings (the canonical URL should be the one the site answers at).
"""

from __future__ import annotations

import asyncio

import httpx

from citecast.pages.problems import Problem, display_path

USER_AGENT = "citecast-verify/1 (+https://github.com/citecast)"


async def _check_one(client: httpx.AsyncClient, gate: asyncio.Semaphore, url: str) -> tuple[str, str] | None:
    """(severity, message) for a URL the site does not serve as it is, else None."""
    async with gate:
        try:
            response = await client.get(url)
        except httpx.TimeoutException:
            return "warning", f"{url} did not answer within the timeout"
        except httpx.HTTPError as exc:
            return "warning", f"{url} could not be requested: {type(exc).__name__}: {exc}"
    status = response.status_code
    if status in (404, 410):
        return "error", f"{url} answers {status}: the site does not serve this page"
    if response.is_redirect:
        target = response.headers.get("location", "?")
        return "warning", f"{url} redirects ({status}) to {target}: link the final URL"
    if status >= 400:
        return "warning", f"{url} answers {status}"
    return None


async def _check_all(urls: list[str], concurrency: int, timeout: float) -> list[tuple[str, str] | None]:
    gate = asyncio.Semaphore(concurrency)
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(timeout=timeout, follow_redirects=False, limits=limits,
                                 headers={"User-Agent": USER_AGENT}) as client:
        return await asyncio.gather(*(_check_one(client, gate, url) for url in urls))


def verify_urls(pages, root, concurrency: int = 8, timeout: float = 10.0) -> list[Problem]:
    """A problem for each page whose canonical URL is missing, failing or redirected."""
    pages = list(pages)
    results = asyncio.run(_check_all([p.canonical_url for p in pages], concurrency, timeout))
    fix = {"error": "fix site.base_url / site.permalink (or the page's permalink) so it matches the live URL",
           "warning": "check the URL in a browser; set canonical_url to the URL the site answers at"}
    return [Problem(display_path(page.path, root), message, fix[severity], "canonical_url", severity=severity)
            for page, found in zip(pages, results) if found for severity, message in [found]]
