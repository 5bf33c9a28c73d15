"""The draft cache: valid drafts keyed by what produced them, in the ledger.

The key is sha256 over (content hash, channel, template hash, model) plus the
link and the prompt version, so a changed page, template, model, UTM setting or
prompt never reuses an old draft. Readers still re-validate a cached draft
before using it (limits and allowed handles can change in config).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Iterable

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from citecast.ledger.tables import DraftCacheRow
from citecast.posts import Draft

_CHUNK = 500  # keys per IN (...) query, well under SQLite's variable limit


def cache_key(content_hash: str, channel: str, template_hash: str, model: str, *extra: str) -> str:
    raw = json.dumps([content_hash, channel, template_hash, model, *extra], separators=(",", ":"))
    return hashlib.sha256(raw.encode()).hexdigest()


@dataclass(frozen=True)
class Entry:
    key: str
    content_hash: str
    channel: str
    template_hash: str
    model: str
    draft: Draft


def _to_json(draft: Draft) -> dict:
    return {"parts": list(draft.parts), "link": draft.link, "title": draft.title, "model": draft.model,
            "generator": draft.generator, "note": draft.generator_note}


def _from_json(channel: str, data: dict) -> Draft:
    return Draft(channel=channel, parts=tuple(data["parts"]), link=data["link"], title=data.get("title"),
                 generator=data.get("generator", "llm"), generator_note=data.get("note"), model=data.get("model"))


class DraftCache:
    """get/put over DraftCacheRow: valid drafts, from the LLM or from the offline fallback."""

    def __init__(self, ledger):
        self.ledger = ledger

    def get_many(self, keys: Iterable[str]) -> dict[str, Draft]:
        keys = list(dict.fromkeys(keys))
        found: dict[str, Draft] = {}
        with self.ledger.session() as s:
            for i in range(0, len(keys), _CHUNK):
                rows = s.scalars(select(DraftCacheRow).where(DraftCacheRow.key.in_(keys[i : i + _CHUNK])))
                for row in rows:
                    try:
                        found[row.key] = _from_json(row.channel, row.draft)
                    except (KeyError, TypeError):  # a row from an older layout: treat as a miss
                        continue
        return found

    def get(self, key: str) -> Draft | None:
        return self.get_many([key]).get(key)

    def put_many(self, entries: Iterable[Entry]) -> None:
        entries = list(entries)
        if not entries:
            return
        try:
            with self.ledger.session() as s:
                self._merge(s, entries)
        except IntegrityError:
            # Another run cached the same key between our read and write: theirs is as good.
            for entry in entries:
                try:
                    with self.ledger.session() as s:
                        self._merge(s, [entry])
                except IntegrityError:
                    pass

    def put(self, entry: Entry) -> None:
        self.put_many([entry])

    @staticmethod
    def _merge(s, entries: list[Entry]) -> None:
        for e in entries:
            s.merge(DraftCacheRow(key=e.key, content_hash=e.content_hash, channel=e.channel,
                                  template_hash=e.template_hash, model=e.model, draft=_to_json(e.draft)))
