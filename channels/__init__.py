"""Platform adapters, one module per platform, behind `citecast.channels.base.Channel`.

Adapters are imported lazily by name, so a run that only uses the outbox never
imports tweepy, praw or the other SDKs.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from typing import Any

from citecast.channels.base import Channel, NotConfigured

# channel name -> "module:Class" of its live adapter
ADAPTERS = {
    "x": "citecast.channels.x:XChannel",
    "linkedin": "citecast.channels.linkedin:LinkedInChannel",
    "reddit": "citecast.channels.reddit:RedditChannel",
    "bluesky": "citecast.channels.bluesky:BlueskyChannel",
    "mastodon": "citecast.channels.mastodon:MastodonChannel",
}


@dataclass(frozen=True)
class Resolved:
    """The channel a run will use, and why it is live or a dry run."""

    channel: Channel
    live: bool
    reason: str


def adapter_class(name: str) -> type[Channel]:
    module, cls = ADAPTERS[name].split(":")
    return getattr(import_module(module), cls)


def settings_keys(name: str) -> frozenset[str]:
    """The [channels.<name>] keys the adapter reads (see Channel.settings_keys)."""
    from citecast.channels.base import COMMON_SETTINGS_KEYS

    return adapter_class(name).settings_keys | COMMON_SETTINGS_KEYS


def resolve(name: str, options: dict[str, Any], outbox_dir, dry_run: bool = False) -> Resolved:
    """The live adapter when it is configured and wanted, else the outbox for that channel."""
    from citecast.channels.outbox import OutboxChannel

    if dry_run:
        return Resolved(OutboxChannel.for_channel(name, outbox_dir, options), False, "dry run requested")
    if name not in ADAPTERS:
        raise KeyError(f"unknown channel {name!r}: choose from {sorted(ADAPTERS)}")
    try:
        cls = adapter_class(name)
    except ImportError as exc:  # adapter not written yet or SDK missing
        return Resolved(OutboxChannel.for_channel(name, outbox_dir, options), False, f"adapter unavailable: {exc}")
    try:
        channel = cls.from_options(options)
    except NotConfigured as exc:
        return Resolved(OutboxChannel.for_channel(name, outbox_dir, options), False, str(exc))
    for module in cls.client_modules:
        import_module(module)
    return Resolved(channel, True, "credentials found")
