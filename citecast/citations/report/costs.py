"""What drafting cost: LLM tokens and dollars of the posts, summed per week, page and channel.

Read from the ledger's events (each post carries the tokens and cost of the
calls that drafted it, failed attempts included), so the report and
`citecast ledger costs` agree.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from citecast.citations.report.tables import C, Table

if TYPE_CHECKING:
    from citecast.ledger.store import Ledger

GROUPS = (("slot", "week", "llm_cost_weeks"), ("page", "page", "llm_cost_pages"), ("channel", "channel", "llm_cost_channels"))


def cost_tables(ledger: "Ledger") -> dict[str, Table]:
    tables: dict[str, Table] = {}
    for by, label, name in GROUPS:
        rows = [[r["key"], r["posts"], r["tokens_in"], r["tokens_out"], r["cost_usd"]] for r in ledger.cost_totals(by)]
        tables[name] = Table(name, f"LLM drafting cost per {label}",
                             C(label, "posts:int", "tokens in:int", "tokens out:int", "cost (USD):num"), rows,
                             note="Tokens and cost of the calls that drafted each post, failed attempts included; "
                                  "offline drafts and cached drafts cost nothing.", key=label)
    return tables
