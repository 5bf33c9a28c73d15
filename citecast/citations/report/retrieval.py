"""What the engines did with our pages: retrieved but not cited, and the searches they ran.

An engine that lists what it retrieved (OpenAI's sources, Gemini's grounding chunks, Anthropic's
search results, Perplexity's search results) shows the pages it read and then did not cite:
the pages to strengthen first. Only answers that list their retrieved URLs count here (an
answer that does not say what it read says nothing about what it passed over); a page an answer
cites counts as retrieved by it.
"""

from __future__ import annotations

from collections import Counter, defaultdict

import polars as pl

from citecast.citations.model import query_key
from citecast.citations.report import metrics as m
from citecast.citations.report.data import ReportData
from citecast.citations.report.tables import C, Table
from citecast.words import count


def retrieval_table(data: ReportData) -> Table:
    listing = (data.retrieved.select("observation_id").unique()
               .join(data.answers.filter(pl.col("can_cite")).select("id", "engine"),
                     left_on="observation_id", right_on="id"))
    urls = m.url_frame(data.pages)
    retrieved = data.retrieved.join(urls, on="normalized_url").select("observation_id", "page").unique()
    cited = (m.matched_citations(data).select("observation_id", "page")  # only answers that list what they read
             .join(listing.select("observation_id"), on="observation_id", how="semi")
             .unique().with_columns(pl.lit(True).alias("cited")))
    seen = (pl.concat([retrieved, cited.select("observation_id", "page")]).unique()
            .join(listing, on="observation_id")
            .join(cited, on=["observation_id", "page"], how="left")
            .with_columns(pl.col("cited").fill_null(False)))
    per = {r["page"]: r for r in seen.group_by("page").agg(
        pl.len().alias("retrieved_in"), pl.col("cited").sum().alias("cited_in"),
        pl.col("engine").filter(~pl.col("cited")).unique().sort().alias("engines")).to_dicts()}
    rows = []
    for p in data.pages:
        r = per.get(p.slug)
        if r is None:
            rows.append([p.slug, p.topic, p.cohort, 0, 0, 0, None, ""])
            continue
        missed = r["retrieved_in"] - r["cited_in"]
        rows.append([p.slug, p.topic, p.cohort, r["retrieved_in"], r["cited_in"], missed,
                     missed / r["retrieved_in"], ", ".join(r["engines"])])
    rows.sort(key=lambda row: (-row[5], -(row[6] or 0), row[0]))
    return Table("retrieval", "Retrieved but not cited: the pages engines read and passed over",
                 C("page:text>pages", "topic", "cohort", "retrieved_in:int", "cited_in:int",
                   "retrieved_not_cited:int", "not_cited_share:rate", "engines_passing_over"), rows, key="page",
                 note=f"over the {count(listing.height, 'answer')} that list the URLs they retrieved; retrieved_in: answers "
                      "that retrieved (or cited) the page; not_cited_share = retrieved_not_cited / retrieved_in.")


def engine_queries_table(data: ReportData, top: int = 5) -> Table:
    """Per page (the page whose tracked query was asked): the engines' own searches, most frequent first."""
    if data.searched.is_empty():
        return Table("engine_queries", "The engines' own searches per page", _COLS, [],
                     note="no searches recorded: engines that report them are openai, gemini, anthropic and "
                          "perplexity (api = \"responses\").")
    rows_in = (data.searched.join(data.answers.select("id", "engine", "topic"), left_on="observation_id",
                                  right_on="id"))
    tracked = {p.slug: {query_key(q) for q in p.queries} for p in data.pages}
    answers: dict[str, set[int]] = defaultdict(set)
    ran: dict[tuple[str, str], set[int]] = defaultdict(set)
    engines: dict[tuple[str, str], set[str]] = defaultdict(set)
    spelling: dict[str, Counter] = defaultdict(Counter)
    for r in rows_in.iter_rows(named=True):
        group = r["page"] or f"topic:{r['topic']}"
        answers[group].add(r["observation_id"])
        ran[(group, r["query_key"])].add(r["observation_id"])
        engines[(group, r["query_key"])].add(r["engine"])
        spelling[r["query_key"]][" ".join(r["query"].split())] += 1
    rows = []
    for group in sorted(answers):
        ranked = sorted((k for g, k in ran if g == group), key=lambda k: (-len(ran[(group, k)]), k))
        for key in ranked[:top]:
            n = len(ran[(group, key)])
            text = sorted(spelling[key].items(), key=lambda kv: (-kv[1], kv[0]))[0][0]
            rows.append([group, text, n, n / len(answers[group]), ", ".join(sorted(engines[(group, key)])),
                         "yes" if key in tracked.get(group, set()) else ""])
    return Table("engine_queries", f"The engines' own searches per page (top {top})", _COLS, rows,
                 note="answers: answers to the page's tracked queries that ran this search; share: of those that "
                      "ran any. Candidates to track: `citecast queries suggest`.")


_COLS = C("page", "query", "answers:int", "share:rate", "engines", "tracked")
