"""The review form an editor fills in the Prefect UI (Resume on a paused run).

The UI builds the form from this model's JSON schema: `decision` starts at
"approve all", and `approve` offers this week's posts by page title and channel,
each label ending in the post's key ([page:channel]) so scripts can build it too.
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
        default=Decision.approve_all,
        description="Publish every post (the default), only the ones picked below, or none.",
    )
    approve: list[str] = Field(
        default_factory=list,
        description="With 'approve some': the posts to publish, by page title and channel. The others are rejected.",
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
            return {key_of(choice) for choice in self.approve} & set(keys)
        return set()

    def unknown(self, keys: list[str]) -> list[str]:
        """Posts the editor named that were not under review (a typo, or another week's)."""
        if self.decision is not Decision.approve_some:
            return []
        return sorted({key_of(choice) for choice in self.approve} - set(keys))


def label(title: str, channel: str, key: str) -> str:
    """How a post is offered in the form: `Page title — channel [page:channel]`."""
    return f"{' '.join(title.split())} — {channel} [{key}]"


def key_of(choice: str) -> str:
    """The key behind a label (a bare key is accepted too, for scripts)."""
    if choice.endswith("]") and "[" in choice:
        return choice[choice.rindex("[") + 1 : -1]
    return choice


def approval_form(posts: dict[str, str], description: str | None = None) -> type[Approval]:
    """The form for this run; `posts` maps each key under review to its label (see `label`)."""
    if posts:
        choice = Literal[tuple(posts.values())]  # type: ignore[valid-type]
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
