"""Platform fakes written from the platforms' API documentation and the SDKs' sources,
independently of tests/fakes/ (issue 13): X API v2, Reddit, LinkedIn Posts API, Mastodon, a Bluesky PDS.

They fault in ways tests/fakes/ does not: a write that is stored and then the
connection reset before any answer, a write that lands up to a second after a
502, 503 from the token call every Nth time, newest-first timelines that hide a
post for a random lag, listings whose cursor returns an empty page before more
results, 429 with Retry-After / x-rate-limit-reset / x-ratelimit-reset, and
refusal of a text seen in the last 24 hours (X, LinkedIn).
"""
