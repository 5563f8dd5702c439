"""A cached document: the viewer-independent JSON bytes and the ids its viewer fields are about.

Every viewer sees the same bytes but for `favorited` and `following`, which are stored false.
The ids those flags depend on (an article's, its author's) ride in front of the body on one
line, so a signed-in read lays the viewer's flags over the bytes without parsing them:

    b"<id> <id> ...\\n" + body

`mark` sets the flags in place. It can find them by bytes alone because JSON escapes every
quote inside a string: the unescaped sequence `"favorited":` only ever begins a key, and in
brisk's shapes each card, author or profile has exactly one, in document order.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

FAVORITED = b'"favorited":'
FOLLOWING = b'"following":'


def pack(refs: Iterable[int], body: bytes) -> bytes:
    return b" ".join(b"%d" % ref for ref in refs) + b"\n" + body


def unpack(value: bytes) -> tuple[list[int], bytes]:
    """(the ids, the body) of a packed document."""
    head, _, body = value.partition(b"\n")
    return [int(ref) for ref in head.split()], body


def body_of(value: bytes) -> bytes:
    """The body alone: what an anonymous reader is sent."""
    return value[value.index(b"\n") + 1 :]


def mark(body: bytes, field: bytes, values: Sequence[bool]) -> bytes:
    """`body` with its k-th `field` set to `values[k]` (each is stored false)."""
    if not any(values):
        return body
    stored, true = field + b"false", field + b"true"
    parts: list[bytes] = []
    start = search = 0
    for value in values:
        at = body.index(stored, search)  # ValueError: not a document of the shape it claims
        search = at + len(stored)
        if value:
            parts += (body[start:at], true)
            start = search
    parts.append(body[start:])
    return b"".join(parts)
