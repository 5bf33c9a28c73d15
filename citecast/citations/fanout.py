"""Fan-out queries: the searches engines ran while answering our tracked queries.

An engine asked "do backlinks still matter for AI citations" searches for its own phrasings
("backlinks ai citations 2026", ...). The ones that recur across answers are what people's
questions turn into, so they are candidates to track: `citecast queries suggest` lists them per
page (or per topic, for queries that belong to no page), ranked by how many answers ran them.
Nothing is added to the tracked queries here: that is the user's edit.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Iterable

from citecast.citations.model import TrackedQuery, query_key

if TYPE_CHECKING:
    from citecast.ledger.store import Ledger


@dataclass(frozen=True)
class RanQuery:
    """One search query one answer ran."""

    observation_id: int
    engine: str
    topic: str
    page: str | None
    query: str


@dataclass
class Suggestion:
    query: str  # the most common spelling
    answers: int  # answers that ran it
    engines: list[str]
    share: float  # of the group's answers that ran any search


@dataclass
class Group:
    topic: str
    page: str | None
    answers: int = 0
    suggestions: list[Suggestion] = field(default_factory=list)


def suggest(ran: Iterable[RanQuery], tracked: Iterable[TrackedQuery], *, min_answers: int = 2,
            limit: int = 10) -> list[Group]:
    """Per (topic, page): engine queries not tracked yet, by answers that ran them, then engines."""
    known = {query_key(t.query) for t in tracked}
    answers: dict[tuple[str, str | None], set[int]] = defaultdict(set)
    hits: dict[tuple[str, str | None], dict[str, set[int]]] = defaultdict(lambda: defaultdict(set))
    engines: dict[tuple[tuple[str, str | None], str], set[str]] = defaultdict(set)
    spellings: dict[str, Counter] = defaultdict(Counter)
    for r in ran:
        key = query_key(r.query)
        if not key:
            continue
        group = (r.topic, r.page)
        answers[group].add(r.observation_id)
        spellings[key][" ".join(r.query.split())] += 1
        if key in known:
            continue
        hits[group][key].add(r.observation_id)
        engines[(group, key)].add(r.engine)
    groups: list[Group] = []
    for group in sorted(answers, key=lambda g: (g[0], g[1] or "")):
        n = len(answers[group])
        ranked = sorted(((key, ids) for key, ids in hits[group].items() if len(ids) >= min_answers),
                        key=lambda kv: (-len(kv[1]), -len(engines[(group, kv[0])]), kv[0]))
        out = Group(group[0], group[1], n)
        for key, ids in ranked[:limit]:
            spelling = sorted(spellings[key].items(), key=lambda kv: (-kv[1], kv[0]))[0][0]
            out.suggestions.append(Suggestion(spelling, len(ids), sorted(engines[(group, key)]), len(ids) / n))
        groups.append(out)
    return groups


def load_ran_queries(ledger: "Ledger", since: datetime | None = None, topic: str | None = None,
                     page: str | None = None) -> list[RanQuery]:
    from sqlalchemy import select

    from citecast.ledger.citation_tables import ObservationRow, SearchQueryRow

    q = (select(SearchQueryRow.observation_id, ObservationRow.engine, ObservationRow.topic, ObservationRow.page,
                SearchQueryRow.query)
         .join(ObservationRow, ObservationRow.id == SearchQueryRow.observation_id))
    if since is not None:
        q = q.where(ObservationRow.observed_at >= since)
    if topic:
        q = q.where(ObservationRow.topic == topic)
    if page:
        q = q.where(ObservationRow.page == page)
    with ledger.session() as s:
        return [RanQuery(*row) for row in s.execute(q.order_by(SearchQueryRow.observation_id, SearchQueryRow.position))]
