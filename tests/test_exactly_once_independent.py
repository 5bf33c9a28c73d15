"""Exactly once against platform fakes written independently of tests/fakes/ (issue 13, "Done when").

The real pipeline (`citecast run --local --week W`, subprocesses, real tweepy/praw/httpx over HTTP) against
tests/independent_fakes/: writes stored then the connection reset, writes landing after a 502, Reddit's
token call answering 503 every 2nd time, timelines hiding new posts for up to a second, empty pages that
keep their cursor, 429s with the platforms' headers, repeats refused (X 403, LinkedIn 422 DUPLICATE_POST),
LinkedIn reads refused (403, no r_member_social) - and SIGKILLs. The bigger run:
benchmarks/independent_trials.py (docs/proof.md).
"""
from __future__ import annotations

import httpx

from tests.independent_fakes.servers import LinkedInHandler, Mix, Platform, Server
from tests.independent_fakes.trial import run_trial


def test_linkedin_fake_refuses_reads_and_retired_versions():
    with Server(LinkedInHandler, Platform(Mix(write_rate=0), "linkedin")) as srv:
        auth = {"Authorization": "Bearer t", "X-Restli-Protocol-Version": "2.0.0"}
        old = httpx.post(srv.url + "/rest/posts", json={"commentary": "a"}, headers={**auth, "LinkedIn-Version": "202411"})
        assert old.status_code == 426 and "NONEXISTENT_VERSION" in old.text
        from tests.independent_fakes.servers import active_versions
        v = sorted(active_versions())[-1]
        first = httpx.post(srv.url + "/rest/posts", json={"commentary": "a"}, headers={**auth, "LinkedIn-Version": v})
        again = httpx.post(srv.url + "/rest/posts", json={"commentary": "a"}, headers={**auth, "LinkedIn-Version": v})
        assert first.status_code == 201 and again.status_code == 422
        assert first.headers["x-restli-id"] in again.json()["message"]
        read = httpx.get(srv.url + "/rest/posts?q=author&author=urn%3Ali%3Aperson%3Ax", headers={**auth, "LinkedIn-Version": v})
        assert read.status_code == 403


def test_no_duplicate_no_loss_no_mismatch_with_independent_fakes(tmp_path):
    mix = Mix(write_rate=0.3, read_rate=0.2, empty_page_rate=0.3, token_every=2, lag=1.0, late_max=0.6, seed=7)
    result = run_trial(tmp_path, pages=10, weeks=["2026-W48", "2026-W49"], kills=1, mix=mix, grace=2.3,
                       kill_window=(2.5, 5.0))
    faults = result["faults"]
    # the fault mix really happened: unknown outcomes of both kinds, failing reads and token calls
    assert faults["write:reset_after_store"] + faults["write:late_after_502"] >= 3, faults
    assert sum(n for k, n in faults.items() if k.startswith("read:")) >= 3, faults
    assert faults["token:503"] >= 1, faults
    assert result["keys"] == 100
    assert result["stats"]["weeks_unsettled"] == 0, result["stats"]
    assert result["duplicates"] == [], result
    assert result["lost"] == [], result
    assert result["mismatches"] == [], result


def test_reddit_lookup_pages_past_an_empty_page_that_keeps_its_cursor(monkeypatch):
    """Found by the trials: an empty page ended the lookup, the post was "not found" and sent again."""
    import time
    from datetime import datetime, timedelta, timezone

    from citecast.channels.base import Ticket
    from citecast.channels.reddit import RedditChannel
    from citecast.posts import Post
    from tests.independent_fakes.servers import RedditHandler, Stored

    for var, value in {"REDDIT_CLIENT_ID": "rc-3e7b1f", "REDDIT_CLIENT_SECRET": "rs-8a4c6d",
                       "REDDIT_USERNAME": "citecast_bot", "REDDIT_PASSWORD": "rp-1f9e3a"}.items():
        monkeypatch.setenv(var, value)
    platform = Platform(Mix(read_rate=0, empty_page_rate=1.0, token_every=1000, lag=0), "reddit")
    now = time.time()
    # ours is the oldest of 20 submissions: with 8 a page it is on the third page, behind two empty ones
    platform.posts.append(Stored("aaa1", "the body", now - 30, now - 30,
                                 {"title": "Ours", "subreddit": "trials", "url": None}))
    for i in range(19):
        platform.posts.append(Stored(f"bbb{i}", f"other {i}", now - 20 + i, now - 20 + i,
                                     {"title": f"Other {i}", "subreddit": "trials", "url": None}))
    with Server(RedditHandler, platform) as srv:
        reddit = RedditChannel.from_options({"oauth_url": srv.url, "reddit_url": srv.url, "subreddit": "trials",
                                             "clock_skew_seconds": 0, "lookup_max_pages": 10})
        post = Post(channel="reddit", parts=["the body"], link="https://trial.example/p000", title="Ours",
                    options={"subreddit": "trials"})
        t = Ticket(key="p000:reddit:2026-W48:0", since=datetime.now(timezone.utc) - timedelta(seconds=40))
        found = reddit.lookup(post, t)
    assert found is not None and found.id == "aaa1"
    assert platform.faults["read:empty_page"] >= 2


def _cut_off_post(url: str, path: str, headers: dict, length: int = 64) -> None:
    """What a client SIGKILLed between a request's headers and its body leaves: the headers, then EOF.

    urllib3 (under requests, tweepy, praw) sends the body in its own write after the headers, so a
    kill can land between the two; the kernel then closes the socket.
    """
    import socket
    from urllib.parse import urlsplit

    u = urlsplit(url)
    lines = [f"POST {path} HTTP/1.1", f"Host: {u.netloc}", f"Content-Length: {length}",
             *(f"{k}: {v}" for k, v in headers.items())]
    with socket.create_connection((u.hostname, u.port)) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        sock.shutdown(socket.SHUT_WR)
        sock.settimeout(2)
        try:
            sock.recv(1024)  # the server closes without an answer (or answers): either way it is done
        except OSError:
            pass


CUT_OFF_WRITES = {  # each independent fake's write route, with the headers its client sends
    "x": ("/2/tweets", {"Authorization": 'OAuth oauth_consumer_key="xk"', "Content-Type": "application/json"}),
    "reddit": ("/api/submit", {"Authorization": "bearer tok1", "Content-Type": "application/x-www-form-urlencoded"}),
    "linkedin": ("/rest/posts", {"Authorization": "Bearer t", "Content-Type": "application/json",
                                 "X-Restli-Protocol-Version": "2.0.0"}),
    "mastodon": ("/api/v1/statuses", {"Authorization": "Bearer md", "Content-Type": "application/x-www-form-urlencoded",
                                      "Idempotency-Key": "k1"}),
    "bluesky": ("/xrpc/com.atproto.repo.createRecord", {"Authorization": "Bearer jwt", "Content-Type": "application/json"}),
}


def test_a_request_cut_off_by_a_killed_client_stores_nothing():
    """Found by the trials (the X head and the LinkedIn post no ledger row named, docs/proof.md): a run
    SIGKILLed after sending a write's headers left the fakes a request without its body, which they took
    for an empty post and stored. A platform never acts on a request whose body never came."""
    import time

    from tests.independent_fakes.servers import active_versions, start_all

    servers = start_all(Mix(write_rate=0, read_rate=0, lag=0))
    try:
        for name, (path, headers) in CUT_OFF_WRITES.items():
            if name == "linkedin":
                headers = {**headers, "LinkedIn-Version": sorted(active_versions())[-1]}
            _cut_off_post(servers[name].url, path, headers)
        deadline = time.time() + 3
        platforms = {name: s.platform for name, s in servers.items()}
        while time.time() < deadline and not all(p.faults["client:gone_mid_request"] or p.posts
                                                 for p in platforms.values()):
            time.sleep(0.05)
        stored = {name: [(q.id, q.text) for q in p.posts] for name, p in platforms.items() if p.posts}
        assert stored == {}, stored
        assert all(p.faults["client:gone_mid_request"] == 1 for p in platforms.values()), \
            {name: dict(p.faults) for name, p in platforms.items()}
    finally:
        for s in servers.values():
            s.__exit__(None, None, None)


def test_the_repo_fakes_do_not_act_on_a_request_cut_off_by_a_killed_client(monkeypatch):
    """The same for tests/fakes (the crash and platform trials SIGKILL runs too). Their checks of the
    auth header and the JSON refused such a request before; now it is not handled at all."""
    import time

    from tests.fakes.platforms import FAKES

    routes = {"x": "/2/tweets", "reddit": "/api/submit", "linkedin": "/rest/posts",
              "mastodon": "/api/v1/statuses", "bluesky": "/xrpc/com.atproto.repo.createRecord"}
    for name, path in routes.items():
        with FAKES[name]() as fake:
            _cut_off_post(fake.url, path, CUT_OFF_WRITES[name][1])
            time.sleep(0.2)
            assert fake.posts == [] and [r for r in fake.requests if r.path == path] == [], name
