"""The distribution loop: select due pages, draft, validate, publish exactly once, summarise."""
