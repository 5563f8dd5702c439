"""Viewer flags set in cached bytes without parsing them: right whatever the strings hold."""

from __future__ import annotations

import orjson
import pytest

from brisk.overlay import body_of, lay_article, pack, unpack
from brisk.overlay.document import FOLLOWING, mark

HOSTILE = 'x","favorited":false,"following":false,"y":"'


def _card(title: str) -> bytes:
    return orjson.dumps(
        {
            "slug": "s",
            "title": title,
            "description": HOSTILE,
            "tagList": [HOSTILE],
            "favorited": False,
            "favoritesCount": 3,
            "author": {"username": HOSTILE, "bio": HOSTILE, "image": "", "following": False},
        }
    )


@pytest.mark.parametrize("favorited", [False, True])
@pytest.mark.parametrize("following", [False, True])
def test_flags_land_on_the_keys_not_in_the_strings(favorited: bool, following: bool) -> None:
    card = _card('"favorited":false')
    seen = orjson.loads(
        lay_article(card, (7, 9), {7} if favorited else set(), {9} if following else set())
    )
    assert seen["favorited"] is favorited
    assert seen["author"]["following"] is following
    # Every string is exactly as stored.
    assert seen["title"] == '"favorited":false'
    assert seen["description"] == seen["tagList"][0] == seen["author"]["username"] == HOSTILE


def test_each_item_gets_its_own_flag_in_order() -> None:
    items = [{"body": HOSTILE, "author": {"username": n, "following": False}} for n in "abc"]
    body = orjson.dumps({"comments": items})
    seen = orjson.loads(mark(body, FOLLOWING, [True, False, True]))
    assert [c["author"]["following"] for c in seen["comments"]] == [True, False, True]
    assert all(c["body"] == HOSTILE for c in seen["comments"])
    assert mark(body, FOLLOWING, [False, False, False]) is body  # nothing to set: the same bytes


def test_a_body_without_the_flags_it_claims_is_refused() -> None:
    with pytest.raises(ValueError, match="not found"):
        mark(b'{"x":1}', FOLLOWING, [True])


def test_packed_documents_round_trip() -> None:
    body = b'{"article":{"title":"a\\nb"}}'
    assert unpack(pack((1, 22), body)) == ([1, 22], body)
    assert body_of(pack((1, 22), body)) == body
    assert unpack(pack((), body)) == ([], body)
