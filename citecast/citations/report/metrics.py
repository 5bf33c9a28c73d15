"""Metrics over page cells: one row per page, day and engine.

Every answer (from an engine that can cite) to a query of topic T is an
opportunity for every page of topic T published by then. A cell counts, for
one page, one day and one engine:

- answers: opportunities;
- cited: those answers that cite the page (any of its URLs, best position);
- weight: the sum of 1/position over them (visibility = weight / answers);
- citations: all distinct URLs cited in the cell's answers (share = cited / citations).

Everything the tables show is a sum or a page-level mean over cells, so it is
computed once, in polars, whatever the number of answers.
"""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta
from typing import Sequence, Mapping

import numpy as np
import polars as pl

from citecast.citations.model import PageRef, normalize_url
from citecast.citations.report.data import ReportData


def pages_frame(pages: Sequence[PageRef]) -> pl.DataFrame:
    return pl.DataFrame(
        {"page": [p.slug for p in pages], "topic": [p.topic for p in pages], "cohort": [p.cohort for p in pages],
         "updated": [p.updated for p in pages], "published": [p.published for p in pages]},
        schema={"page": pl.String, "topic": pl.String, "cohort": pl.String, "updated": pl.Date,
                "published": pl.Date},
    )


def url_frame(pages: Sequence[PageRef], copies: Mapping[str, tuple[str, str]] | None = None) -> pl.DataFrame:
    """Normalised URL -> page: canonical and previous URLs (first page wins a shared URL), and the cited
    URLs of our own posts (`ReportData.copies`), which count for their page."""
    seen: dict[str, str] = {url: page for url, (page, _) in (copies or {}).items()}
    for p in pages:
        for u in (p.canonical_url, *p.previous_urls):
            try:
                seen.setdefault(normalize_url(u), p.slug)
            except ValueError:
                continue
    return pl.DataFrame({"normalized_url": list(seen), "page": list(seen.values())},
                        schema={"normalized_url": pl.String, "page": pl.String})


def own_urls(data: ReportData) -> pl.DataFrame:
    """url_frame of the report's pages and copies, normalised once per report (several tables need it)."""
    return _memo(data, "own_urls", lambda: url_frame(data.pages, data.copies))


def _memo(data: ReportData, key: str, make):
    """Frames several tables share are computed once per report (a million answers: seconds each)."""
    if key not in data.memo:
        data.memo[key] = make()
    return data.memo[key]


def categorical(data: ReportData, namespace: str = "urls") -> pl.DataType:
    """The report's own categorical types: URLs hashed once, then joined and grouped as integers (a
    namespace per report, so a long-running process does not keep every URL it ever saw; codes in a
    namespace are dense: 0, 1, 2, ... in order of first sight)."""
    def make() -> tuple[pl.DataType, pl.Series]:
        dtype = pl.Categorical(pl.Categories.random())
        # a column of the type keeps its categories alive for the report's lifetime: codes stay the same
        # between frames even while no frame of the report holds a value of the type
        return dtype, pl.Series([], dtype=dtype)
    return _memo(data, f"categorical_{namespace}", make)[0]


def _answers_in_id_order(data: ReportData) -> pl.DataFrame:
    return _memo(data, "answers_sorted", lambda: data.answers if data.answers["id"].is_sorted()
                 else data.answers.sort("id"))


def cited_rows(data: ReportData) -> pl.DataFrame:
    """The cited URLs with `row`, their answer's row in `answers_by_id` (ids are sorted: a binary search per
    row instead of a hash join of millions), and `url`, the URL as the report's categorical."""
    def make() -> pl.DataFrame:
        ids = _answers_in_id_order(data)["id"].to_numpy()
        obs = data.cited["observation_id"].to_numpy()
        in_range = False
        if len(ids) and ids[-1] - ids[0] == len(ids) - 1:  # consecutive ids (the usual ledger): row = id - first
            rows = obs - ids[0]
            in_range = not len(rows) or (rows.min() >= 0 and rows.max() < len(ids))
            if not in_range:  # URLs of answers outside the window
                rows = np.clip(rows, 0, len(ids) - 1)
        else:
            rows = np.minimum(np.searchsorted(ids, obs), max(len(ids) - 1, 0))
        frame = data.cited.with_columns(pl.Series("row", rows, dtype=pl.Int64),
                                        pl.col("normalized_url").cast(categorical(data)).alias("url"))
        if len(ids) == 0:
            return frame.clear()
        if in_range:  # sorted unique ids from first to last: every id in that range is an answer's
            return frame
        found = ids[rows] == obs
        return frame if found.all() else frame.filter(pl.Series(found))  # a URL of an answer outside the window
    return _memo(data, "cited_rows", make)


def answers_by_id(data: ReportData) -> pl.DataFrame:
    """Every answer in id order with its day, number of cited URLs (distinct per answer, as recorded) and
    topic and engine codes."""
    def make() -> pl.DataFrame:
        answers = _answers_in_id_order(data)
        n_urls = np.bincount(cited_rows(data)["row"].to_numpy(), minlength=answers.height)[:answers.height]
        return answers.with_columns(pl.Series("n_urls", n_urls, dtype=pl.Int64),
                                    pl.col("observed_at").dt.date().alias("day"),
                                    # dense integer codes for joins and group-bys (a handful of distinct values)
                                    pl.col("topic").cast(categorical(data, "topics")).to_physical().alias("topic_code"),
                                    pl.col("engine").cast(categorical(data, "engines")).to_physical()
                                    .alias("engine_code"))
    return _memo(data, "answers_by_id", make)


def _page_codes(data: ReportData) -> tuple[pl.DataFrame, pl.Series]:
    """Our URLs as the report's categorical with a page code, and the page names by code."""
    def make() -> tuple[pl.DataFrame, pl.Series]:
        urls = own_urls(data)
        names = urls["page"].unique(maintain_order=True)
        codes = pl.DataFrame({"page": names, "page_code": pl.int_range(len(names), dtype=pl.UInt32, eager=True)})
        return urls.join(codes, on="page").select(
            pl.col("normalized_url").cast(categorical(data)).alias("url"), "page_code"), names
    return _memo(data, "page_codes", make)


def matched_citations(data: ReportData) -> pl.DataFrame:
    """(observation_id, page, position, row, page_code): each page's best position in each answer citing it."""
    def make() -> pl.DataFrame:
        urls, names = _page_codes(data)
        cited = cited_rows(data)
        # URL code -> page code through an array (the codes are dense): no hash join over the cited URLs
        codes = cited["url"].to_physical().to_numpy()
        ours = urls["url"].to_physical().to_numpy()
        lookup = np.full(max(int(codes.max(initial=0)), int(ours.max(initial=0))) + 1, -1, dtype=np.int64)
        lookup[ours] = urls["page_code"].to_numpy()
        page_of = lookup[codes]
        at = np.flatnonzero(page_of >= 0)  # the cited rows that are ours, in order: numpy gathers, no frame filter
        code = page_of[at]
        # A page with several URLs (previous ones, copies) may be cited twice in one answer: one row per answer
        # and page, its best position. A page with one URL needs no grouping: the ledger keeps a URL once per
        # answer (model.observation_row).
        several = np.bincount(urls["page_code"].to_numpy(), minlength=len(names)) > 1
        twice = several[code]
        if twice.any():
            maybe = at[twice]
            key = cited["row"].to_numpy()[maybe] * len(names) + code[twice]
            order = np.lexsort((cited["position"].to_numpy()[maybe], key))  # by answer and page, best position first
            best = np.ones(len(order), dtype=bool)
            best[1:] = key[order][1:] != key[order][:-1]
            at = np.concatenate([at[~twice], maybe[order[best]]])
            code = page_of[at]
        matched = pl.DataFrame({name: cited[name].to_numpy()[at] for name in ("observation_id", "position", "row")},
                               schema={"observation_id": pl.Int64, "position": pl.Int64, "row": pl.Int64})
        return matched.with_columns(pl.Series("page_code", code, dtype=pl.UInt32),
                                    names.gather(pl.Series(code, dtype=pl.UInt32)).alias("page"))
    return _memo(data, "matched", make)


def citing_answers(data: ReportData) -> pl.DataFrame:
    """Answers that can cite, with their day and number of cited URLs (distinct per answer, as recorded)."""
    return _memo(data, "citing_answers", lambda: answers_by_id(data).filter(pl.col("can_cite")))


def hits(data: ReportData) -> pl.DataFrame:
    """Citations of a page in answers of its own topic (others are no opportunity): observation_id, page,
    position, row, day, observed_at, engine_code, page_no, published (topics compared as codes)."""
    def make() -> pl.DataFrame:
        _, names = _page_codes(data)
        every = pages_frame(data.pages).with_row_index("page_no")
        pages = (every
                 .join(pl.DataFrame({"page": names, "page_code": pl.int_range(len(names), dtype=pl.UInt32,
                                                                              eager=True)}), on="page")
                 .select("page_code", "page_no", "published",
                         pl.col("topic").cast(categorical(data, "topics")).to_physical().alias("page_topic")))
        matched = matched_citations(data)
        answers = answers_by_id(data)
        rows, codes = matched["row"].to_numpy(), matched["page_code"].to_numpy()
        topic_of_page = np.full(len(names), -1, dtype=np.int64)  # page code -> its topic's code (-1: no page)
        topic_of_page[pages["page_code"].to_numpy()] = pages["page_topic"].to_numpy()
        # an answer that can cite, to a query of the cited page's own topic (numpy: one mask, one filter)
        keep = (answers["can_cite"].to_numpy()[rows]
                & (answers["topic_code"].to_numpy().astype(np.int64)[rows] == topic_of_page[codes]))
        kept = matched.filter(pl.Series(keep))
        answer = answers.select("day", "observed_at", "engine_code").gather(kept["row"])
        # page code -> its row in pages_frame by an array (every kept code has one: its topic matched)
        page_no = np.zeros(len(names), dtype=np.int64)
        page_no[pages["page_code"].to_numpy()] = pages["page_no"].to_numpy()
        page = every.select("page_no", "published").gather(page_no[kept["page_code"].to_numpy()])
        return pl.concat([kept.select("observation_id", "page", "position", "row"), answer, page], how="horizontal")
    return _memo(data, "hits", make)


def topic_url_counts(data: ReportData) -> pl.DataFrame:
    """(topic, normalized_url, answers, domain, page): answers that can cite per topic citing each URL, a URL
    counted once per answer (the ledger keeps a URL once per answer).

    Counted on one integer key (topic code, URL code): a few hundred thousand groups out of millions of rows
    without hashing a string; the domain and page are found once per distinct URL.
    """
    def make() -> pl.DataFrame:
        answers, cited = answers_by_id(data), cited_rows(data)
        rows = cited["row"].to_numpy()
        citing = answers["can_cite"].to_numpy()[rows]
        topic = answers["topic_code"].to_numpy()[rows[citing]].astype(np.int64)
        url = cited["url"].to_physical().to_numpy()[citing].astype(np.int64)
        size = int(topic.max()) + 1 if len(topic) else 0
        codes = int(url.max()) + 1 if len(url) else 0
        if size * codes <= 4 * len(url) + 1_000_000:  # dense codes: a count per (topic, URL) cell, no hashing
            counts = np.bincount(topic * codes + url, minlength=size * codes)
            cells = np.flatnonzero(counts)
            found = pl.DataFrame({"topic_code": (cells // codes).astype(np.uint32),
                                  "url_code": (cells % codes).astype(np.uint32), "answers": counts[cells]})
        else:
            found = (pl.DataFrame({"key": topic << 32 | url}).group_by("key").len("answers")
                     .select((pl.col("key") // (1 << 32)).cast(pl.UInt32).alias("topic_code"),
                             (pl.col("key") % (1 << 32)).cast(pl.UInt32).alias("url_code"), "answers"))
        topic_names = _code_names(answers, "topic_code", "topic")
        return (found.join(topic_names, on="topic_code").join(distinct_urls(data), on="url_code")
                .select("topic", "normalized_url", pl.col("answers").cast(pl.UInt32), "domain", "page"))
    return _memo(data, "topic_url_counts", make)


def _code_names(frame: pl.DataFrame, code: str, name: str) -> pl.DataFrame:
    """(code, name) once per code present in `frame`, `code` being a function of `name`: one row per code,
    found by an array (a few codes over a million rows: no hashing of the rows)."""
    codes = frame[code].to_numpy()
    if not len(codes):
        return frame.select(code, name).clear()
    row = np.full(int(codes.max()) + 1, -1, dtype=np.int64)
    row[codes] = np.arange(len(codes))  # a row of each code (whichever write lands: they share the name)
    return frame.select(code, name).gather(row[row >= 0])


def distinct_urls(data: ReportData) -> pl.DataFrame:
    """(url_code, normalized_url, domain, page) once per distinct cited URL; page is null for no page of ours."""
    def make() -> pl.DataFrame:
        cited = cited_rows(data)
        urls = _code_names(pl.DataFrame({"url_code": cited["url"].to_physical(),
                                         "normalized_url": cited["normalized_url"]}), "url_code", "normalized_url")
        return (urls
                # normalised URLs are https://host[:port]/..., host lower case without www.: the host is the domain
                .with_columns(pl.col("normalized_url").str.extract(r"^https?://([^/:?#]+)", 1).alias("domain"))
                .join(own_urls(data), on="normalized_url", how="left"))
    return _memo(data, "distinct_urls", make)


def unmatched_own_citations(data: ReportData) -> pl.DataFrame:
    """(normalized_url, observation_id, observed_at): citations, in answers that can cite, of URLs on our
    pages' domains that match no page (a moved page missing from previous_urls, most often)."""
    def make() -> pl.DataFrame:
        from citecast.citations.model import url_domain

        ours = sorted({url_domain(p.canonical_url) for p in data.pages})
        own = distinct_urls(data).filter(pl.col("domain").is_in(ours) & pl.col("page").is_null())["normalized_url"]
        rows = cited_rows(data)
        rows = rows.filter(pl.col("url").is_in(own.cast(categorical(data)).implode())) if len(own) else rows.clear()
        answer = answers_by_id(data).select("observed_at", "can_cite").gather(rows["row"])
        return (pl.concat([rows.select("normalized_url", "observation_id"), answer], how="horizontal")
                .filter(pl.col("can_cite")).drop("can_cite"))
    return _memo(data, "unmatched_own", make)


def _cell_key() -> pl.Expr:
    """(page number, day, engine code) as one integer: 21 bits of page, 22 of day, 20 of engine."""
    return (pl.col("page_no").cast(pl.Int64) * (1 << 42)
            + (pl.col("day").cast(pl.Int32).cast(pl.Int64) + (1 << 21)) * (1 << 20)
            + pl.col("engine_code").cast(pl.Int64))


def cells(data: ReportData) -> pl.DataFrame:
    """page, topic, cohort, day, engine, answers, cited, weight, citations (days before publication dropped)."""
    per_topic = (citing_answers(data)
                 .group_by((pl.col("topic_code").cast(pl.Int64) * (1 << 40)  # one integer key: topic, day, engine
                            + (pl.col("day").cast(pl.Int32).cast(pl.Int64) + (1 << 21)) * (1 << 16)
                            + pl.col("engine_code").cast(pl.Int64)).alias("key"))
                 .agg(pl.col("topic_code", "day", "engine_code", "engine").first(), pl.len().alias("answers"),
                      pl.col("n_urls").sum().alias("citations"))
                 .sort("key")  # a fixed row order: sums over cells come out the same in every run
                 .drop("key")
                 .with_columns(week=pl.col("day").dt.strftime("%G-W%V")))  # on the few (topic, day, engine) rows
    pages = pages_frame(data.pages).with_row_index("page_no").with_columns(
        pl.col("topic").cast(categorical(data, "topics")).to_physical().alias("topic_code"))
    out = (pages.join(per_topic, on="topic_code", how="inner")
           .filter(pl.col("published").is_null() | (pl.col("day") >= pl.col("published"))))
    cited, weight = _cited_per_cell(hits(data), out)
    out = out.with_columns(pl.Series("cited", cited, dtype=pl.Int64), pl.Series("weight", weight, dtype=pl.Float64),
                           pl.col("answers").cast(pl.Int64), pl.col("citations").cast(pl.Int64))
    return out.select("page", "topic", "cohort", "updated", "published", "day", "engine", "answers", "citations",
                      "cited", "weight", "week")


def _cited_per_cell(found: pl.DataFrame, cells: pl.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Per cell (page_no, day, engine_code) of `cells`: how many of the hits `found` fall in it and the sum of their
    1/position. Counted by bincount over the dense (page, day, engine) grid when it is not much larger than the
    rows (the usual case: a few hundred pages, a year of days, a few engines), then read at each cell's index: no
    group-by and no join of hundreds of thousands of rows. A sparse grid (thousands of pages over years) takes a
    hash group-by and join instead."""
    if not found.height or not cells.height:
        return np.zeros(cells.height, dtype=np.int64), np.zeros(cells.height)
    parts = [(f["page_no"].to_numpy().astype(np.int64), f["day"].cast(pl.Int32).to_numpy().astype(np.int64),
              f["engine_code"].to_numpy().astype(np.int64)) for f in (found, cells)]
    first_day = min(int(p[1].min()) for p in parts)
    days = max(int(p[1].max()) for p in parts) - first_day + 1
    engines = max(int(p[2].max()) for p in parts) + 1
    size = (max(int(p[0].max()) for p in parts) + 1) * days * engines
    if size > 4 * (found.height + cells.height) + 1_000_000:
        counts = (found.group_by(_cell_key().alias("key"))
                  .agg(pl.len().alias("cited"), (1.0 / pl.col("position")).sum().alias("weight")))
        joined = cells.select(_cell_key().alias("key")).join(counts, on="key", how="left", maintain_order="left")
        return joined["cited"].fill_null(0).to_numpy(), joined["weight"].fill_null(0.0).to_numpy()
    (hit_page, hit_day, hit_engine), (page, day, engine) = parts
    hit_cell = (hit_page * days + hit_day - first_day) * engines + hit_engine
    cell = (page * days + day - first_day) * engines + engine
    cited = np.bincount(hit_cell, minlength=size)
    weight = np.bincount(hit_cell, weights=1.0 / found["position"].to_numpy(), minlength=size)
    return cited[cell], weight[cell]


def recent_citing(data: ReportData, per_page: int) -> pl.DataFrame:
    """Each page's `per_page` most recent citing answers of its topic since its publication (the drill-down)."""
    def make() -> pl.DataFrame:
        valid = hits(data).filter(pl.col("published").is_null() | (pl.col("day") >= pl.col("published")))
        # the rows' indices per page, then those rows: one column through the group-by, not all of them
        index = (valid.with_row_index("i").group_by("page")
                 .agg(pl.col("i").top_k_by(["observed_at", "observation_id"], per_page)).explode("i"))["i"]
        top = valid[index]
        top = top.with_columns(answers_by_id(data)["engine"].gather(top["row"]).alias("engine"))
        return top.sort(["page", "observed_at", "observation_id"], descending=[False, True, True])
    return _memo(data, f"recent_citing_{per_page}", make)


# --- freshness --------------------------------------------------------------------------------


def bucket_labels(edges: Sequence[int]) -> list[str]:
    labels, lo = [], 0
    for edge in edges:
        labels.append(f"{lo}-{edge}d")
        lo = edge + 1
    return labels + ([f">{edges[-1]}d"] if edges else []) + ["unknown"]


def with_freshness(frame: pl.DataFrame, edges: Sequence[int]) -> pl.DataFrame:
    """Add `freshness`: days since `updated` at the cell's day (else since `published`), bucketed.

    Only the current `updated` is known: a day before it saw an older version,
    so it falls back to `published`, else `unknown`.
    """
    ref = (pl.when(pl.col("updated").is_not_null() & (pl.col("updated") <= pl.col("day"))).then(pl.col("updated"))
           .when(pl.col("published").is_not_null() & (pl.col("published") <= pl.col("day"))).then(pl.col("published"))
           .otherwise(None))
    age = (pl.col("day") - ref).dt.total_days()
    labels = bucket_labels(edges)
    expr = pl.when(age.is_null()).then(pl.lit("unknown"))
    lo = 0
    for edge, label in zip(edges, labels):
        expr = expr.when(age <= edge).then(pl.lit(label))
        lo = edge + 1
    expr = expr.otherwise(pl.lit(labels[-2] if edges else "all"))
    return frame.with_columns(expr.alias("freshness"))


# --- intervals ----------------------------------------------------------------------------------


def wilson(cited: int, n: int, level: float = 0.95) -> tuple[float | None, float | None]:
    """Wilson score interval of one page's rate (statsmodels' formula, numeric.py); treats its answers as
    independent."""
    if n == 0:
        return None, None
    from citecast.citations.report.numeric import wilson as wilson_interval

    lo, hi = wilson_interval(cited, n, level)
    return float(lo), float(hi)


def mean_interval(values: Sequence[float], level: float = 0.95) -> tuple[float | None, float | None, float | None]:
    """Mean of page rates and its t-interval (pages are the unit); no interval from one page."""
    n = len(values)
    if n == 0:
        return None, None, None
    mean = sum(values) / n
    if n < 2:
        return mean, None, None
    from citecast.citations.report.numeric import t_interval_half

    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    half = t_interval_half(sd, n, level)
    return mean, max(0.0, mean - half), min(1.0, mean + half)


def iso_week(ts: datetime | date) -> str:
    y, w, _ = ts.isocalendar()
    return f"{y}-W{w:02d}"


def day_start(d: date) -> datetime:
    from datetime import timezone

    return datetime(d.year, d.month, d.day, tzinfo=timezone.utc)


ONE_DAY = timedelta(days=1)
