"""Titles that cannot fit a channel, found when the page is checked, not when a post fails.

Reddit takes titles of at most 300 characters; an X post holds the title and
the link (23 weighted characters) within 280 weighted characters. A page whose
title cannot fit gets a warning that names the channel and the fix:
`social_title:` in the front matter (drafting also shortens a title itself,
so the page still goes out).
"""

from __future__ import annotations

from citecast.pages.problems import Problem

REDDIT_TITLE_MAX = 300
X_MAX_WEIGHTED = 280
X_LINK_WEIGHT = 23


def x_title_room() -> int:
    """Weighted characters an X post has for the title: the link and a space take the rest."""
    return X_MAX_WEIGHTED - X_LINK_WEIGHT - 1


def title_problems(title: str, channels: list[str]) -> list[str]:
    """Each channel the title cannot fit, in words."""
    found = []
    if "reddit" in channels and len(title) > REDDIT_TITLE_MAX:
        found.append(f"{len(title)} characters; Reddit takes at most {REDDIT_TITLE_MAX}")
    if "x" in channels and len(title) > x_title_room() // 2:  # cheap test first: CJK weighs 2
        from citecast.tweet_text import load  # slow to import; most titles never need it

        weighted = load().parse_tweet(title).weightedLength
        if weighted > x_title_room():
            found.append(f"{weighted} weighted characters; an X post has {x_title_room()} beside the link")
    return found


def title_warnings(name: str, page, line_of) -> list[Problem]:
    """Warnings for a title that cannot fit; `line_of()` finds its line, only when one is needed."""
    title = page.social_title or page.title
    found = title_problems(title, list(page.channels))
    if not found:
        return []
    field = "social_title" if page.social_title else "title"
    line = line_of()
    return [Problem(name, f"the title is {what}: posts will carry a shortened title",
                    "set a shorter `social_title:` in the front matter", field, line, "warning") for what in found]


# The most a post's title may take per channel: Reddit's own limit; on X and Bluesky
# the title shares the post with the answer and the link, so it gets part of it.
TITLE_ROOM = {"reddit": REDDIT_TITLE_MAX, "x": 200, "bluesky": 200, "mastodon": 300, "linkedin": 300}


def post_title(page, channel: str) -> str:
    """The title a post on `channel` carries: `social_title:` if set, shortened at a word if still too long."""
    title = page.social_title or page.title
    room = TITLE_ROOM.get(channel, REDDIT_TITLE_MAX)
    if channel == "x" and len(title) > room // 2:
        from citecast.tweet_text import load

        parse_tweet = load().parse_tweet
        while parse_tweet(title).weightedLength > room and " " in title.strip():
            title = _cut(title, len(title) - 1)
        return title
    return title if len(title) <= room else _cut(title, room)


def _cut(title: str, limit: int) -> str:
    """At most `limit` characters, ending at a word, with an ellipsis."""
    head = title[: max(1, limit - 1)].rstrip()
    if " " in head:
        head = head[: head.rfind(" ")].rstrip(" ,;:-–—")
    return head + "…"
