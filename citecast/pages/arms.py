"""A page's cohort once randomised arms exist: the editor's `cohort:` wins, else the arm decides.

`citecast cohorts assign --randomize` puts pages in a `distribution` or `holdout` arm. A holdout
page runs as `control` (tracked, never distributed). A page whose front matter names a cohort
keeps it; where that disagrees with its arm it is a deviation, which the report lists (the
analysis stays by arm: intention to treat).
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence, TypeVar

ARMS = ("distribution", "holdout")
DISTRIBUTED_COHORTS = ("distribution", "both")
P = TypeVar("P")


def arm_cohort(arm: str) -> str:
    return "distribution" if arm == "distribution" else "control"


def apply_arms(pages: Sequence[P], arms: Mapping[str, str]) -> list[P]:
    """The pages with their arm's cohort, except where an editor set `cohort:`."""
    if not arms:
        return list(pages)
    out: list[Any] = []
    for page in pages:
        arm = arms.get(page.slug)
        if arm is None or getattr(page, "cohort_set", False):
            out.append(page)
        else:
            out.append(page.model_copy(update={"cohort": arm_cohort(arm)}))
    return out


def deviation(arm: str, editor_cohort: str | None, distributed_in_holdout: bool = False) -> str | None:
    """Why a page does not run as its arm says, or None."""
    if editor_cohort and (editor_cohort in DISTRIBUTED_COHORTS) != (arm == "distribution"):
        return f"the editor's cohort: {editor_cohort} overrides arm {arm}"
    if arm == "holdout" and distributed_in_holdout:
        return "distributed while in the holdout arm"
    return None
