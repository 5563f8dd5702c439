"""The lab's workload: a mix of the requests a Conduit client makes, ~5% of them writes.

The mix is a fixed, seeded sequence of concrete requests (a request file), built from what the
service under test serves, so the same file drives every profile and both load generators.
Popular articles, authors and tags are asked for more often (Zipf), as on a real site.
"""

from __future__ import annotations

import json
import random
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from brisk.lab.seed import SEED_PASSWORD

# Share of each kind of request in the mix (per 100 requests); writes are the last three.
MIX: dict[str, int] = {
    "dashboard": 12,
    "article_list": 19,
    "articles_by_tag": 14,
    "article": 12,
    # A client that already holds an article asks again with its ETag (304 while unchanged).
    "article_revalidate": 3,
    "profile": 10,
    "feed": 10,
    "comments": 10,
    "tags": 5,
    "favorite": 2,
    "unfavorite": 1,
    "comment": 2,
}
WRITES = frozenset({"favorite", "unfavorite", "comment"})
# Users that sign in for the authenticated requests (each request picks one).
VIEWERS = 16
# The most popular articles, whose ETags the revalidating clients hold from the sampling.
REVALIDATED = 20


@dataclass(frozen=True)
class Request:
    kind: str
    method: str
    path: str
    token: str = ""
    body: str = ""
    if_none_match: str = ""


@dataclass(frozen=True)
class Sample:
    """What the requests are about: taken from the service's own pages."""

    slugs: list[str]
    usernames: list[str]
    tags: list[str]
    tokens: list[str]
    # ETags of the most popular slugs as sampled (none when the service sends none).
    etags: dict[str, str] = field(default_factory=dict)


def _get(base: str, path: str, token: str = "") -> dict[str, object]:
    return _get_with_etag(base, path, token)[0]


def _get_with_etag(base: str, path: str, token: str = "") -> tuple[dict[str, object], str]:
    request = urllib.request.Request(base + path)  # noqa: S310 - the lab's own http URL
    if token:
        request.add_header("Authorization", f"Token {token}")
    with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
        return dict(json.load(response)), response.headers.get("ETag", "")


def _login(base: str, username: str) -> str:
    body = json.dumps({"user": {"email": f"{username}@example.com", "password": SEED_PASSWORD}})
    request = urllib.request.Request(  # noqa: S310
        base + "/api/users/login",
        data=body.encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
        return str(json.load(response)["user"]["token"])


def sample_service(base: str, *, pages: int = 5) -> Sample:
    """Read slugs, authors and tags from a brisk-compatible service seeded by `brisk seed`;
    sign in as some of the authors (their seeded password)."""
    articles: list[dict[str, object]] = []
    for page in range(pages):
        listing = _get(base, f"/api/articles?limit=100&offset={page * 100}")
        articles += listing["articles"]  # type: ignore[arg-type]
    tags = [str(t) for t in _get(base, "/api/tags")["tags"]][:50]  # type: ignore[attr-defined]
    slugs = [str(a["slug"]) for a in articles]
    authors = list(dict.fromkeys(str(a["author"]["username"]) for a in articles))  # type: ignore[index]
    tokens = [_login(base, name) for name in authors[:VIEWERS]]
    etags = {}
    for slug in slugs[:REVALIDATED]:
        tag = _get_with_etag(base, f"/api/articles/{urllib.parse.quote(slug)}")[1]
        if tag:
            etags[slug] = tag
    return Sample(slugs=slugs, usernames=authors, tags=tags, tokens=tokens, etags=etags)


def build_requests(sample: Sample, *, count: int = 2_000, seed: int = 42) -> list[Request]:
    """`count` requests in the mix's proportions, shuffled with `seed`."""
    rng = random.Random(f"{seed}/workload")

    def popular(items: list[str]) -> str:
        # Zipf-like: rank r drawn with weight 1/(r+1) via inverse CDF of a log-uniform.
        rank = int(len(items) ** rng.random()) - 1
        return items[min(rank, len(items) - 1)]

    def one(kind: str) -> Request:
        token = rng.choice(sample.tokens)
        slug = urllib.parse.quote(popular(sample.slugs))
        match kind:
            case "dashboard":
                return Request(kind, "GET", "/api/dashboard", token)
            case "article_list":
                return Request(kind, "GET", "/api/articles?limit=20", rng.choice(["", token]))
            case "articles_by_tag":
                tag = urllib.parse.quote(popular(sample.tags))
                return Request(kind, "GET", f"/api/articles?tag={tag}&limit=20")
            case "article":
                return Request(kind, "GET", f"/api/articles/{slug}", rng.choice(["", token]))
            case "article_revalidate":
                held = popular(list(sample.etags) or sample.slugs)
                path = f"/api/articles/{urllib.parse.quote(held)}"
                return Request(kind, "GET", path, if_none_match=sample.etags.get(held, ""))
            case "profile":
                name = urllib.parse.quote(popular(sample.usernames))
                return Request(kind, "GET", f"/api/profiles/{name}", token)
            case "feed":
                return Request(kind, "GET", "/api/articles/feed?limit=20", token)
            case "comments":
                return Request(kind, "GET", f"/api/articles/{slug}/comments")
            case "tags":
                return Request(kind, "GET", "/api/tags")
            case "favorite" | "unfavorite":
                method = "POST" if kind == "favorite" else "DELETE"
                return Request(kind, method, f"/api/articles/{slug}/favorite", token)
            case _:
                body = json.dumps({"comment": {"body": "Measured, not guessed."}})
                return Request(kind, "POST", f"/api/articles/{slug}/comments", token, body)

    # Shuffled a block of one mix at a time, so every prefix keeps the mix's proportions: a
    # run that gets through only the first few hundred requests still measures the whole mix.
    block = [kind for kind, share in MIX.items() for _ in range(share)]
    requests: list[Request] = []
    while len(requests) < count:
        kinds = block[:]
        rng.shuffle(kinds)
        requests += [one(kind) for kind in kinds[: count - len(requests)]]
    return requests


def only(requests: list[Request], kind: str) -> list[Request]:
    return [r for r in requests if r.kind == kind]


def write_requests(requests: list[Request], path: Path) -> None:
    """One request a line, tab-separated: kind, method, path, token, If-None-Match, body (read
    by both load generators; the wrk script splits the same lines)."""
    lines = (
        "\t".join((r.kind, r.method, r.path, r.token, r.if_none_match, r.body)) for r in requests
    )
    path.write_text("\n".join(lines) + "\n")


def read_requests(path: str | Path) -> list[Request]:
    requests = []
    for line in Path(path).read_text().splitlines():
        kind, method, target, token, if_none_match, body = line.split("\t")
        requests.append(Request(kind, method, target, token, body, if_none_match))
    return requests
