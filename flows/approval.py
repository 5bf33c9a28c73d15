"""The review form an editor fills in the Prefect UI before anything is posted.

The flow pauses with `wait_for_input=approval_form(keys)`; the UI shows the
form built from this model (its field descriptions, and the week's posts as a
multi-select), and resuming the run with the form's values lets it continue.
"""

from __future__ import annotations

from enum import Enum
from typing import Literal

from pydantic import Field, create_model
from prefect.input import RunInput


class Decision(str, Enum):
    approve_all = "approve all"
    approve_some = "approve some"
    reject_all = "reject all"


class Approval(RunInput):
    decision: Decision = Field(
        description="Approve every post, only the ones ticked below, or none.",
    )
    approve: list[str] = Field(
        default_factory=list,
        description="With 'approve some': the posts to publish, as page:channel. The others are rejected.",
    )
    reason: str = Field(
        default="",
        description="Why the posts not approved are rejected; kept in the distribution log.",
    )

    def approved(self, keys: list[str]) -> set[str]:
        """The keys (page:channel) to publish, out of the ones under review."""
        if self.decision is Decision.approve_all:
            return set(keys)
        if self.decision is Decision.approve_some:
            return set(self.approve) & set(keys)
        return set()

    def unknown(self, keys: list[str]) -> list[str]:
        """Keys the editor named that were not under review (a typo, or another week's)."""
        return sorted(set(self.approve) - set(keys)) if self.decision is Decision.approve_some else []


def approval_form(keys: list[str], description: str | None = None) -> type[Approval]:
    """The form for this run: `approve` offers exactly the posts under review."""
    if keys:
        choice = Literal[tuple(keys)]  # type: ignore[valid-type]
        model = create_model(
            "Approval",
            __base__=Approval,
            approve=(list[choice], Field(default_factory=list, description=Approval.model_fields["approve"].description)),
        )
    else:
        model = create_model("Approval", __base__=Approval)
    if description is not None:
        model._description = description
    return model
