"""The seed's rows, generated deterministically with skew: Zipf draws, id shuffles, timelines."""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

Row = tuple[object, ...]

# A fixed end, not now(): the same seed must give the same rows whenever it runs.
_END = datetime(2025, 1, 1, tzinfo=UTC).timestamp()
_YEAR = 365.25 * 86_400
_GOLDEN = (math.sqrt(5) - 1) / 2

_FIRST = "ada alan anna ben carl dana eve finn grace hugo ines jon kate leo mia nils ola paul "
_FIRST += "quinn rosa sam tara uma vera will xena yuri zoe"
_LAST = "adams baker chen diaz evans fox garcia hill ito jones khan lee moreau novak okafor "
_LAST += "park quist rossi silva tanaka ueda voss weber xu young zhang"
_WORDS = (  # noqa: SIM905 - a word list reads better as prose
    "cache index query latency pool worker async thread lock queue stream buffer vector "
    "schema table row column shard replica primary commit rollback snapshot bloom filter "
    "graph tree heap hash sort merge join scan plan cost budget metric trace span log "
    "alert deploy build test release version branch patch review design pattern model "
    "service client server request response socket packet frame codec parser token "
    "fast slow simple robust lazy eager small large hidden shared local remote stale fresh "
    "really quietly often never always mostly the a of to and in with without for under"
).split()
_TAG_WORDS = (  # noqa: SIM905
    "programming python postgres performance databases caching webdev devops javascript "
    "rust golang testing security architecture design career tutorial opensource linux "
    "cloud kubernetes docker api async observability sql redis frontend backend mobile "
    "ai machinelearning datascience productivity beginners news discuss showdev git"
).split()


@dataclass(frozen=True)
class Scale:
    """How much to generate; skews are Zipf exponents (0 = uniform, 1 = classic Zipf)."""

    users: int
    articles: int
    follows_per_user: float
    favorites_per_article: float
    comments_per_article: float
    tags: int
    tags_per_article: float = 3.0
    user_skew: float = 0.8  # who writes the articles and who gets followed
    article_skew: float = 1.0  # which articles draw the favorites and comments
    tag_skew: float = 1.0
    activity_skew: float = 0.5  # who does the favoriting and commenting
    years: float = 2.0
    # Follows undone since: gone from `follows`, their notifications kept (ADR 0005).
    past_follows_per_user: float = 0.0

    def __post_init__(self) -> None:
        if self.users < 2 or self.articles < 1 or self.tags < 1:
            raise ValueError("a scale needs at least 2 users, 1 article and 1 tag")


class _Zipf:
    """0-based ranks with P(r) ∝ (r+1)^-s, by inverting the continuous CDF: one pow per draw."""

    def __init__(self, n: int, s: float, rng: random.Random) -> None:
        self._n, self._random, self._a = n, rng.random, 1.0 - s
        self._log = abs(self._a) < 1e-9
        self._span = math.log(n + 1) if self._log else (n + 1) ** self._a - 1.0

    def draw(self) -> int:
        u = self._random()
        x = math.exp(u * self._span) if self._log else (1.0 + u * self._span) ** (1.0 / self._a)
        return min(int(x), self._n) - 1


class _Shuffle:
    """A seeded bijection between popularity ranks 0..n-1 and ids 1..n (affine mod n), so
    popular rows are spread over the id range without an n-sized permutation in memory."""

    def __init__(self, n: int, rng: random.Random) -> None:
        mul = rng.randrange(n // 3, n) if n > 2 else 1
        while math.gcd(mul, n) != 1:
            mul += 1
        self.n, self._mul, self._add = n, mul, rng.randrange(n)
        self._inverse = pow(mul, -1, n)

    def id_of(self, rank: int) -> int:
        return (rank * self._mul + self._add) % self.n + 1

    def rank_of(self, id_: int) -> int:
        return ((id_ - 1 - self._add) * self._inverse) % self.n


class _Timeline:
    """Creation times for ids 1..n, increasing with the id (as identity ids do in real life)."""

    def __init__(self, n: int, start: float, offset: float) -> None:
        self._start, self._step, self._offset = start, (_END - start) / n, offset

    def at(self, id_: int) -> float:
        return self._start + self._step * (id_ - 1 + (id_ * _GOLDEN + self._offset) % 1.0)


class _Popularity:
    """How many favorites (or comments) an article gets, from its popularity rank alone, so the
    articles pass (favorites_count) and the favorites pass agree without storing the counts."""

    def __init__(self, ranks: _Shuffle, per_article: float, s: float, cap: int, offset: float):
        self._ranks, self._s, self._cap, self._offset = ranks, s, cap, offset
        self._top = per_article * ranks.n / _harmonic(ranks.n, s)

    def count(self, id_: int) -> int:
        expected = self._top * (self._ranks.rank_of(id_) + 1) ** -self._s
        # Low-discrepancy rounding: the totals match the expectation without another RNG.
        return min(self._cap, int(expected + (id_ * _GOLDEN + self._offset) % 1.0))


def _harmonic(n: int, s: float) -> float:
    """Σ r^-s for r = 1..n: the head exactly, the tail as an integral (Euler-Maclaurin)."""
    head = min(n, 1_000)
    total = math.fsum(r**-s for r in range(1, head + 1))
    if n > head:
        lo, hi = head + 0.5, n + 0.5
        total += math.log(hi / lo) if s == 1 else (hi ** (1 - s) - lo ** (1 - s)) / (1 - s)
    return total


@dataclass(frozen=True)
class _Plan:
    scale: Scale
    seed: int
    user_time: _Timeline
    article_time: _Timeline
    famous: _Shuffle  # user popularity: authors and followees
    active: _Shuffle  # user activity: favoriters and commenters
    favorites: _Popularity
    comments: _Popularity
    paragraphs: tuple[str, ...]

    def rng(self, table: str) -> random.Random:
        # One stream per table: a table's rows do not depend on how much another table drew.
        return random.Random(f"{self.seed}/{table}")


def _plan(scale: Scale, seed: int) -> _Plan:
    rng = random.Random(f"{seed}/plan")
    start = _END - scale.years * _YEAR
    hits = _Shuffle(scale.articles, rng)
    # At most half the users on one article: distinct draws by rejection stay quick.
    cap = scale.users // 2
    skew = scale.article_skew
    return _Plan(
        scale=scale,
        seed=seed,
        user_time=_Timeline(scale.users, start, rng.random()),
        article_time=_Timeline(scale.articles, start, rng.random()),
        famous=_Shuffle(scale.users, rng),
        active=_Shuffle(scale.users, rng),
        favorites=_Popularity(hits, scale.favorites_per_article, skew, cap, rng.random()),
        comments=_Popularity(hits, scale.comments_per_article, skew, cap, rng.random()),
        # Bodies are assembled from a pool: lists never read them, and it keeps L fast.
        paragraphs=tuple(_sentence(rng, 20, 40) for _ in range(512)),
    )


def _at(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def _sentence(rng: random.Random, shortest: int, longest: int) -> str:
    return " ".join(rng.choices(_WORDS, k=rng.randint(shortest, longest))).capitalize() + "."


def _how_many(rng: random.Random, mean: float, cap: int) -> int:
    """A per-row count around `mean`, exponentially spread: most rows few, some many."""
    return min(cap, int(rng.expovariate(1 / mean) + 0.5)) if mean > 0 else 0


def _distinct(rng: random.Random, draw: Callable[[], int], k: int, n: int, skip: int) -> list[int]:
    """k distinct ids in 1..n (not `skip`), popular ones first; when the popular ones run out,
    the rest come uniformly (k ≤ n/2, so that ends quickly)."""
    chosen: set[int] = set()
    for _ in range(3 * k + 10):
        if len(chosen) == k:
            break
        chosen.add(draw())
    chosen.discard(skip)
    while len(chosen) < k:
        pick = rng.randint(1, n)
        if pick != skip:
            chosen.add(pick)
    return sorted(chosen)


def _users(plan: _Plan, password_hash: str) -> Iterator[Row]:
    rng, first, last = plan.rng("users"), _FIRST.split(), _LAST.split()
    for i in range(1, plan.scale.users + 1):
        # The id suffix (digits after letters) alone makes the name unique.
        username = f"{rng.choice(first)}{rng.choice(last)}{i}"
        bio = _sentence(rng, 3, 12) if rng.random() < 0.6 else ""
        image = f"https://images.example.com/u/{i}.jpg" if rng.random() < 0.5 else ""
        created = plan.user_time.at(i)
        updated = created if rng.random() < 0.7 else rng.uniform(created, _END)
        email = f"{username}@example.com"
        yield username, email, password_hash, bio, image, _at(created), _at(updated)


def _tags(plan: _Plan) -> Iterator[Row]:
    # Tag id = popularity rank + 1, and the common names come first.
    for i in range(plan.scale.tags):
        word = _TAG_WORDS[i % len(_TAG_WORDS)]
        yield (word if i < len(_TAG_WORDS) else f"{word}-{i // len(_TAG_WORDS)}",)


def _authors(plan: _Plan) -> Iterator[int]:
    """Each article's author, in article order: a stream of its own, so the tags' links and
    the favorites (which keep their article's author) draw the same authors without the
    articles' rows."""
    rng = plan.rng("authors")
    authors = _Zipf(plan.scale.users, plan.scale.user_skew, rng)
    for _ in range(plan.scale.articles):
        yield plan.famous.id_of(authors.draw())


def _articles(plan: _Plan, expected: dict[str, int]) -> Iterator[Row]:
    rng = plan.rng("articles")
    authors = _authors(plan)
    names = [str(name) for (name,) in _tags(plan)]
    # The tag list kept in the row, sorted as COLLATE "C" sorts (code points): written here,
    # it spares the recount an UPDATE that rewrote every article.
    tag_lists = _tag_ids(plan)
    for i in range(1, plan.scale.articles + 1):
        tag_list = sorted(names[tag - 1] for tag in next(tag_lists))
        words = rng.choices(_WORDS, k=rng.randint(3, 7))
        body = "\n\n".join(rng.choices(plan.paragraphs, k=rng.randint(2, 4)))
        created = plan.article_time.at(i)
        updated = created if rng.random() < 0.8 else rng.uniform(created, _END)
        favorites = plan.favorites.count(i)
        # Exact totals for the favorites and comments progress bars, for free.
        expected["favorites"] += favorites
        expected["comments"] += plan.comments.count(i)
        author = next(authors)
        title, description = " ".join(words).capitalize(), _sentence(rng, 6, 14)
        slug = f"{'-'.join(words)}-{i}"  # words have no digits: the id suffix keeps it unique
        row = (slug, author, title, description, body, _at(created), _at(updated), favorites)
        yield (*row, tag_list)


def _follows(plan: _Plan, stream: str = "follows", per_user: float | None = None) -> Iterator[Row]:
    """(follower, followee, since); with another stream and rate, the follows undone since."""
    rng, n = plan.rng(stream), plan.scale.users
    stars = _Zipf(n, plan.scale.user_skew, rng)
    mean = plan.scale.follows_per_user if per_user is None else per_user

    def draw() -> int:
        return plan.famous.id_of(stars.draw())

    for follower in range(1, n + 1):
        k = _how_many(rng, mean, (n - 1) // 2)
        joined = plan.user_time.at(follower)
        for followee in _distinct(rng, draw, k, n, follower):
            since = max(joined, plan.user_time.at(followee))
            yield follower, followee, _at(rng.uniform(since, _END))


def _tag_ids(plan: _Plan) -> Iterator[list[int]]:
    """Each article's tag ids in article order (their own stream, so both users agree)."""
    rng, n = plan.rng("article_tags"), plan.scale.tags
    popular = _Zipf(n, plan.scale.tag_skew, rng)

    def draw() -> int:
        return popular.draw() + 1

    for _article in range(1, plan.scale.articles + 1):
        k = _how_many(rng, plan.scale.tags_per_article, min(10, n // 2))
        yield _distinct(rng, draw, k, n, 0)


def _article_tags(plan: _Plan) -> Iterator[Row]:
    for article, (tags, author) in enumerate(zip(_tag_ids(plan), _authors(plan), strict=True), 1):
        created = _at(plan.article_time.at(article))  # the article's, as its links keep it
        for tag in tags:
            yield article, tag, created, author


def _favorites(plan: _Plan) -> Iterator[Row]:
    rng, n = plan.rng("favorites"), plan.scale.users
    fans = _Zipf(n, plan.scale.activity_skew, rng)

    def draw() -> int:
        return plan.active.id_of(fans.draw())

    for article, author in enumerate(_authors(plan), 1):
        posted = plan.article_time.at(article)
        created = _at(posted)  # the article's, as its favorites keep it (and its author)
        for user in _distinct(rng, draw, plan.favorites.count(article), n, 0):
            since = max(posted, plan.user_time.at(user))
            yield user, article, _at(rng.uniform(since, _END)), created, author


def _comments(plan: _Plan) -> Iterator[Row]:
    rng = plan.rng("comments")
    talkers = _Zipf(plan.scale.users, plan.scale.activity_skew, rng)
    for article in range(1, plan.scale.articles + 1):
        posted = plan.article_time.at(article)
        authors = [plan.active.id_of(talkers.draw()) for _ in range(plan.comments.count(article))]
        # Sorted by time, so comment ids grow with created_at within an article.
        thread = sorted((rng.uniform(max(posted, plan.user_time.at(a)), _END), a) for a in authors)
        for when, author in thread:
            yield article, author, _sentence(rng, 4, 30), _at(when), _at(when)
