"""Every cache key brisk uses, in one place, under one versioned prefix.

Layout (``ns`` is ``settings.cache.namespace``, ``c1`` the format version -- bump it when a
cached value's shape changes, so old entries are never read by new code):

* entity keys ``ns:c2:{family:id}`` and their lease ``ns:c2:{family:id}:lease``; the braces are a
  Redis Cluster hash tag, so a value and its lease live in one slot (the lease script needs both);
* version tokens ``ns:c2:{ver}:name``, all in one slot, read together with one MGET;
* versioned keys ``ns:c2:{family:versions:...}``: a write changes the token, never the entries,
  so a reader that loaded before the write stores under a key no later read asks for.
"""

from __future__ import annotations

from dataclasses import dataclass

from brisk import names

FORMAT = "c2"

# Version-token names (ADR 0020). MEMBERSHIP changes when which articles a list holds can
# change: an article created, deleted or retagged. EMBEDDED changes with a profile edit or an
# article's retitle (a notification embeds its actor and its article's title). follows(id)
# changes with that user's follows (their feed), viewer(id) with their notifications and
# follows (their inbox). A favorite or a comment changes none of them: it drops the one
# article's entries, and the viewer's own favorites set.
MEMBERSHIP = "membership"
EMBEDDED = "embedded"


# L2 time to live per family, in seconds (jittered by +-10% when stored). Invalidation, not
# expiry, keeps entries fresh; the TTL only bounds memory and any invalidation lost while Redis
# was unreachable.
TTL_SECONDS = {
    "user": 300,
    "profile": 300,
    "article": 300,
    "comments": 120,
    "tags": 60,
    "unread": 300,
    "token_generation": 300,
    "card": 300,
    "article_ids": 60,
    "favorites": 300,
    "following": 300,
    "inbox": 60,
}


def viewer(user_id: int) -> str:
    return f"viewer:{user_id}"


def follows(user_id: int) -> str:
    return f"follows:{user_id}"


@dataclass(frozen=True, slots=True)
class Key:
    """A cache key: its family (a bounded metrics label) and its full Redis name."""

    family: str
    name: str

    @property
    def ttl(self) -> float:
        return TTL_SECONDS[self.family]

    @property
    def lease(self) -> str:
        return f"{self.name}:lease"


@dataclass(frozen=True, slots=True)
class KeySpace:
    namespace: str

    @property
    def prefix(self) -> str:
        return f"{self.namespace}:{FORMAT}:"

    @property
    def eviction_channel(self) -> str:
        return f"{self.prefix}evictions"

    def version(self, name: str) -> str:
        return f"{self.prefix}{{ver}}:{name}"

    def _entity(self, family: str, ident: object) -> Key:
        return Key(family, f"{self.prefix}{{{family}:{ident}}}")

    # Entity keys: invalidated by deleting them (and their lease) after the write commits.
    def user(self, user_id: int) -> Key:
        return self._entity("user", user_id)

    def profile(self, username: str) -> Key:
        # Every spelling a URL may use for one user (ALICE, fullwidth alice) shares one key, so
        # the profile edit that drops it drops them all.
        return self._entity("profile", names.key(username))

    def article(self, slug: str) -> Key:
        return self._entity("article", slug)

    def comments(self, slug: str) -> Key:
        return self._entity("comments", slug)

    def tags(self) -> Key:
        return self._entity("tags", "all")

    def unread(self, user_id: int) -> Key:
        return self._entity("unread", user_id)

    def token_generation(self, user_id: int) -> Key:
        return self._entity("token_generation", user_id)

    def card(self, article_id: int) -> Key:
        """An article as lists show it (no body), everyone's flags false."""
        return self._entity("card", article_id)

    def favorites(self, user_id: int) -> Key:
        """The ids of the articles a user favorited: their `favorited` flags."""
        return self._entity("favorites", user_id)

    def following(self, user_id: int) -> Key:
        """The ids of the users a user follows: their `following` flags."""
        return self._entity("following", user_id)

    # Versioned keys: a write renews a token; entries under the old one are never asked for.
    def article_ids(self, versions: tuple[str, ...], scope: str, limit: int, offset: int) -> Key:
        """Which articles a list page holds (ids, authors' ids, the total): `scope` is `all`,
        `tag=<name>`, `author=<id>` or `feed=<viewer id>`."""
        return self._entity("article_ids", f"{':'.join(versions)}:{limit}:{offset}:{scope}")

    def inbox(self, versions: tuple[str, ...], user_id: int) -> Key:
        """A user's newest notifications, as their dashboard shows them."""
        return self._entity("inbox", f"{':'.join(versions)}:{user_id}")
