"""The dry-run channel: each post becomes a readable file, nothing leaves the machine.

It wears the limits and layout of the channel it stands in for, so a dry run
shows exactly what the platform would have received.
"""

from __future__ import annotations

import json
import os
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from citecast.channels.base import Channel, Limits, Ticket
from citecast.posts import Draft, Post, Published


class OutboxChannel(Channel):
    name = "outbox"
    limits = Limits(max_length=10**9)
    live = False
    can_lookup = True
    grace = timedelta(0)  # the log is read back at once
    reconcile_note = "looks the post up by its key in the outbox's sent.jsonl"

    def __init__(self, stands_for: Channel, directory: Path):
        super().__init__(stands_for.options)
        self.stands_for = stands_for
        self.directory = Path(directory)
        self.name = stands_for.name  # events and files carry the real channel's name
        self.limits = stands_for.limits

    @classmethod
    def for_channel(cls, name: str, directory: Path, options: dict[str, Any] | None = None) -> "OutboxChannel":
        from citecast.channels import adapter_class

        return cls(adapter_class(name)(options or {}), directory)

    def render(self, draft: Draft, page_options: dict[str, Any] | None = None) -> Post:
        return self.stands_for.render(draft, page_options)

    def problems(self, post: Post) -> list[str]:
        return self.stands_for.problems(post)

    def path_for(self, key: str) -> Path:
        page, channel, slot, seq = key.split(":")
        page = page.replace("/", "__")
        suffix = "" if seq == "0" else f".{seq}"
        return self.directory / slot / channel / f"{page}{suffix}.md"

    @property
    def log_path(self) -> Path:
        return self.directory / "sent.jsonl"

    def publish(self, post: Post, ticket: Ticket) -> Published:
        key = ticket.key
        # The append to sent.jsonl is the act of posting (one write, like one API call);
        # the markdown file is its readable copy. The log also lets tests count duplicates.
        self.directory.mkdir(parents=True, exist_ok=True)
        record = {"key": key, "channel": post.channel, "title": post.title, "parts": list(post.parts),
                  "link": post.link, "at": datetime.now(timezone.utc).isoformat()}
        line = (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")
        fd = os.open(self.log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)
        return self._write_copy(post, key)

    def lookup(self, post: Post, ticket: Ticket) -> Published | None:
        key = ticket.key
        if self.log_path.exists():
            with self.log_path.open(encoding="utf-8") as fh:
                for line in fh:
                    if f'"key": "{key}"' in line:
                        found = self._write_copy(post, key)  # the copy may be missing after a crash
                        return Published(found.id, found.url, found_by="lookup")
        return None

    def _write_copy(self, post: Post, key: str) -> Published:
        path = self.path_for(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            _write_atomically(path, _as_markdown(post, key))
        return Published(id=key, url=path.resolve().as_uri())


def _as_markdown(post: Post, key: str) -> str:
    head = [
        "---",
        f"key: {key}",
        f"channel: {post.channel}",
        f"link: {post.link}",
    ]
    if post.title:
        head.append(f"title: {json.dumps(post.title, ensure_ascii=False)}")
    for name, value in sorted(post.options.items()):
        if isinstance(value, (str, int, float, bool)):
            head.append(f"{name}: {json.dumps(value, ensure_ascii=False)}")
    head.append("---")
    body = []
    for i, part in enumerate(post.parts, 1):
        if len(post.parts) > 1:
            body.append(f"<!-- post {i}/{len(post.parts)} -->")
        body.append(part)
        body.append("")
    return "\n".join(head) + "\n\n" + "\n".join(body)


def _write_atomically(path: Path, text: str) -> None:
    # A crash mid-write must never leave a half post that `lookup` mistakes for a whole one.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".md")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
