"""The store: pages, distribution events, the draft cache (and later, citations)."""

from citecast.ledger.store import Claim, Ledger, event_key

__all__ = ["Claim", "Ledger", "event_key"]
