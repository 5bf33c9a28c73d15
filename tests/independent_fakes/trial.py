"""Runs the real pipeline (`citecast run --local --week W`, a subprocess) against the independent fakes,
SIGKILLs some runs, and compares the ledger with what the fakes stored for every (page, channel, week)."""
from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

from tests.independent_fakes.servers import Mix, start_all

CHANNELS = ("x", "reddit", "linkedin", "mastodon", "bluesky")
WORDS = ("amber basil cobalt dune ember fjord garnet harbor indigo juniper kelp lumen mosaic nectar onyx prairie "
         "quartz russet saffron tundra umber velvet willow xenon yarrow zephyr alder birch cedar delta echo flint "
         "grove heath islet jetty knoll ledge marsh nook").split()


def write_site(root: Path, pages: int, seed: int, channels: tuple[str, ...] = CHANNELS) -> None:
    """A site whose pages differ in every sentence (a platform refuses a repeated text)."""
    wanted = ", ".join(channels)
    rng = random.Random(seed)
    content = root / "content"
    content.mkdir(parents=True)
    for i in range(pages):
        def sentence(k: int) -> str:
            return f"Page {i} point {k}: " + " ".join(rng.sample(WORDS, 7)) + f" measured {rng.randrange(10, 99)} times."
        points = "\n".join(f"- {sentence(k)}" for k in range(4))
        (content / f"p{i:03d}.md").write_text(
            f"---\ntitle: Trial page {i} {rng.choice(WORDS)}\ndescription: {sentence(9).replace(':', '')}\nslug: p{i:03d}\n"
            f"canonical_url: https://trial.example/p{i:03d}\ndate: 2026-09-01\nchannels: [{wanted}]\n"
            f"subreddit: trials\ncadence: weekly\n---\n\n{sentence(8)}\n\n## Key points\n\n{points}\n",
            encoding="utf-8")
    # citecast ships no Mastodon or Bluesky template: the trial site brings one beside copies of the shipped ones
    shipped = Path(__file__).resolve().parents[2] / "templates"
    (root / "templates").mkdir()
    for t in shipped.glob("*.j2"):
        (root / "templates" / t.name).write_text(t.read_text(encoding="utf-8"), encoding="utf-8")
    for name, limit in (("mastodon", "500 characters"), ("bluesky", "300 graphemes")):
        (root / "templates" / f"{name}.md.j2").write_text(
            f"{{% block guidance -%}}\n{name}. One post under {limit}, the link last.\n{{%- endblock %}}\n"
            "{% block post -%}\n{{ answer if answer else title }}\n\n{{ title }}:\n{{ link }}\n{%- endblock %}\n",
            encoding="utf-8")
    (root / "citecast.toml").write_text(
        '[site]\nname = "trial"\nbase_url = "https://trial.example"\ntimezone = "UTC"\n\n[paths]\ntemplates = "templates"\n\n'
        '[distribution]\nchannels = [' + ", ".join(f'"{c}"' for c in channels) + f']\nmax_pages_per_week = {pages}\n'
        'settle_wait_seconds = 20\n', encoding="utf-8")


def environment(servers: dict, grace: float) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CITECAST_", "PREFECT_API_URL"))}
    env.update({
        "X_API_KEY": "xk-7f3a9c", "X_API_SECRET": "xs-2b8e1d", "X_ACCESS_TOKEN": "xt-5c0f4e",
        "X_ACCESS_TOKEN_SECRET": "xts-9d6a2b", "REDDIT_CLIENT_ID": "rc-3e7b1f", "REDDIT_CLIENT_SECRET": "rs-8a4c6d",
        "REDDIT_USERNAME": "citecast_bot", "REDDIT_PASSWORD": "rp-1f9e3a", "LINKEDIN_ACCESS_TOKEN": "li-6b2d8f", "LINKEDIN_AUTHOR": "urn:li:person:abc123",
        "CITECAST_CHANNELS__X__API_BASE": servers["x"].url,
        "CITECAST_CHANNELS__REDDIT__OAUTH_URL": servers["reddit"].url,
        "CITECAST_CHANNELS__REDDIT__REDDIT_URL": servers["reddit"].url,
        "CITECAST_CHANNELS__LINKEDIN__BASE_URL": servers["linkedin"].url,
        "CITECAST_CHANNELS__LINKEDIN__AUTHOR": "urn:li:person:abc123",
        "MASTODON_ACCESS_TOKEN": "md-4e8c2a", "CITECAST_CHANNELS__MASTODON__API_BASE_URL": servers["mastodon"].url,
        "BLUESKY_HANDLE": "citecast.test", "BLUESKY_APP_PASSWORD": "bs-7c1e-9a3d",
        "CITECAST_CHANNELS__BLUESKY__BASE_URL": servers["bluesky"].url,
    })
    for ch in CHANNELS:
        env[f"CITECAST_CHANNELS__{ch.upper()}__GRACE_SECONDS"] = str(grace)
        env[f"CITECAST_CHANNELS__{ch.upper()}__CLOCK_SKEW_SECONDS"] = "5"
        env[f"CITECAST_CHANNELS__{ch.upper()}__LOOKUP_MAX_PAGES"] = "80"
    return env


def citecast(root: Path, env: dict, *args: str, kill_after: float | None = None, timeout: float = 600):
    cmd = [sys.executable, "-m", "citecast.cli", *args]
    started = time.time()
    proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    killed = False
    if kill_after is not None:
        try:
            out, err = proc.communicate(timeout=kill_after)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
            out, err = proc.communicate()
            killed = True
    else:
        out, err = proc.communicate(timeout=timeout)
    if args and args[0] == "run":  # kept with the site of a failing trial: what each run said, and when
        runs = root / "runs"
        runs.mkdir(exist_ok=True)
        n = len(list(runs.iterdir()))
        (runs / f"{n:02d}-{'-'.join(args[1:]).replace('--', '')}{'-killed' if killed else ''}.log").write_text(
            f"started {started:.3f} ended {time.time():.3f} rc {proc.returncode}\n--- stdout\n{out}\n--- stderr\n{err}\n",
            encoding="utf-8")
    return proc.returncode, out, err, killed


def run_trial(root: Path, pages: int, weeks: list[str], kills: int, mix: Mix, grace: float,
              max_runs: int = 8, log=print, verbose: bool = False,
              kill_window: tuple[float, float] = (3.0, 9.0), channels: tuple[str, ...] = CHANNELS) -> dict:
    write_site(root, pages, mix.seed, channels)
    rng = random.Random(mix.seed)
    servers = start_all(mix)
    stats = Counter()
    try:
        env = environment(servers, grace)
        for week in weeks:
            for s in servers.values():  # a week passes between two weekly runs
                s.platform.day_passed()
            for k in range(kills):  # killed while it posts: start-up takes ~2-4 s
                rc, out, err, killed = citecast(root, env, "run", "--local", "--week", week,
                                                kill_after=rng.uniform(*kill_window))
                stats["killed" if killed else "runs_not_killed"] += 1
            for _ in range(max_runs):
                rc, out, err, _ = citecast(root, env, "run", "--local", "--week", week)
                stats["runs"] += 1
                if rc == 0:
                    break
                log(f"{week}: run exited {rc}: {(err or out)[-600:]}")
            else:
                stats["weeks_unsettled"] += 1
            if verbose:
                log(f"{week}: last run rc={rc} out={out[-1500:]} err={err[-800:]}")
        rc, out, err, _ = citecast(root, env, "ledger", "--json", "--limit", "100000")
        assert rc == 0, err
        ledger = json.loads(out)
        result = compare(ledger, servers, pages, weeks, channels)
        for ch in channels:  # the platform's truth beside the ledger, for a failing trial's site
            pf = servers[ch].platform
            (root / f"platform-{ch}.json").write_text(json.dumps({
                "posts": [{"id": p.id, "text": p.text, "created": p.created, "visible_at": p.visible_at, **p.extra}
                          for p in pf.posts], "journal": pf.journal}, indent=0, default=str), encoding="utf-8")
        result["faults"] = sum((s.platform.faults for s in servers.values()), Counter())
        result["stats"] = stats
        return result
    finally:
        for s in servers.values():
            s.__exit__(None, None, None)


def _slug(*texts) -> str | None:
    import re
    for t in texts:
        m = re.search(r"trial\.example/(p\d{3})", t or "")
        if m:
            return m.group(1)
    return None


def compare(ledger: list[dict], servers: dict, pages: int, weeks: list[str], channels: tuple[str, ...] = CHANNELS) -> dict:
    """duplicates: platform posts beyond one per (page, channel, week) (X: per thread part);
    lost: keys without a published ledger row; mismatches: published rows whose id the platform lacks
    or whose stored post is for another page, and platform posts no ledger row names."""
    published = {}
    by_status = Counter()
    for row in ledger:
        by_status[row["status"]] += 1
        if row["status"] == "published":
            published[(row["page"], row["channel"], row["slot"])] = row
    keys = [(f"p{i:03d}", ch, w) for i in range(pages) for ch in channels for w in weeks]
    lost = [k for k in keys if k not in published]
    mismatches, duplicates = [], []
    for ch in channels:
        posts = {p.id: p for p in servers[ch].platform.posts}
        heads = {pid: p for pid, p in posts.items() if not p.extra.get("reply_to")}
        thread = defaultdict(str)  # an X thread's link may be in any part
        for p in posts.values():
            thread[p.extra.get("conversation_id") or p.id] += " " + p.text

        def slug_of(p):
            return _slug(thread[p.extra.get("conversation_id") or p.id], p.extra.get("link"), p.extra.get("url"))
        named = set()
        for (page, c, week), row in published.items():
            if c != ch:
                continue
            pid = str(row["platform_id"])
            named.add(pid)
            p = posts.get(pid)
            if p is None or slug_of(p) != page:
                mismatches.append((page, ch, week, pid, "not on the platform" if p is None else "another page"))
        per_page = Counter(slug_of(p) for p in heads.values())
        want = Counter(page for (page, c, _w) in published if c == ch)
        for page, n in per_page.items():
            if n > want.get(page, 0):
                duplicates.append((page, ch, n - want.get(page, 0)))
        for pid in heads:
            if pid not in named and not any(pid == pid2 for pid2 in named):
                h = heads[pid]
                mismatches.append((slug_of(h), ch, None, pid, "on the platform, not in the ledger",
                                   h.text[:60], h.created))
        replies = Counter(p.extra["reply_to"] for p in posts.values() if p.extra.get("reply_to"))
        duplicates += [(parent, ch, n - 1) for parent, n in replies.items() if n > 1]
    return {"keys": len(keys), "posts": sum(len(servers[ch].platform.posts) for ch in channels),
            "duplicates": duplicates, "lost": lost, "mismatches": mismatches, "ledger_status": by_status}
