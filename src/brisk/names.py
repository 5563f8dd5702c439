"""What makes a username or a tag one name as people read it (ADR 0015).

* NFKC first: fullwidth letters, ligatures and NFD `José` become the ordinary characters.
* Usernames: letters, digits, marks after a letter, `_ . -`; nothing invisible (format and
  control characters, zero-width joiners, variation selectors, Hangul fillers: Unicode's
  Default_Ignorable_Code_Point) and no mixing of scripts (UTS #39 "highly restrictive": one
  script, or Latin with the scripts written together in CJK). Unique case-insensitively: the
  database folds with `username_key()` (migration 0012), `key()` here folds the same way for
  cache keys.
* Tags: the same invisible characters refused; stored folded (NFKC, lower case), so `Dragons`,
  `DRAGONS` and fullwidth `dragons` are one tag, and a list names each tag once.
"""

from __future__ import annotations

import unicodedata

# Default_Ignorable_Code_Point (Unicode 15 DerivedCoreProperties.txt): drawn as nothing.
_IGNORABLE = (
    (0x00AD, 0x00AD),
    (0x034F, 0x034F),
    (0x061C, 0x061C),
    (0x115F, 0x1160),
    (0x17B4, 0x17B5),
    (0x180B, 0x180F),
    (0x200B, 0x200F),
    (0x202A, 0x202E),
    (0x2060, 0x206F),
    (0x3164, 0x3164),
    (0xFE00, 0xFE0F),
    (0xFEFF, 0xFEFF),
    (0xFFA0, 0xFFA0),
    (0xFFF0, 0xFFF8),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0000, 0xE0FFF),
)
# Control, format, surrogate, private use, unassigned, line and paragraph separators.
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
USERNAME_PUNCTUATION = frozenset("_.-")
# Scripts that are written together: with Latin, each of these sets is still one "script".
_TOGETHER = (
    frozenset({"LATIN", "HAN", "HIRAGANA", "KATAKANA"}),
    frozenset({"LATIN", "HAN", "BOPOMOFO"}),
    frozenset({"LATIN", "HAN", "HANGUL"}),
)
# Character-name prefixes that name the script differently.
_SCRIPT_ALIASES = {"CJK": "HAN", "IDEOGRAPHIC": "HAN", "KANGXI": "HAN"}


def invisible(char: str) -> bool:
    code = ord(char)
    if unicodedata.category(char) in _REFUSED_CATEGORIES:
        return True
    return any(low <= code <= high for low, high in _IGNORABLE)


def script(char: str) -> str | None:
    """The script of a letter or digit, from its Unicode name (Python has no Script property);
    None for what belongs to every script (ASCII digits, `_ . -`, combining marks)."""
    if char.isascii() and not char.isalpha():
        return None
    if unicodedata.category(char).startswith("M"):
        return None  # Inherited: takes the script of the letter it is on
    first = unicodedata.name(char, "UNKNOWN").split(" ", 1)[0]
    return _SCRIPT_ALIASES.get(first, first)


def _one_script(scripts: set[str]) -> bool:
    return len(scripts) <= 1 or any(scripts <= together for together in _TOGETHER)


def canonical_username(raw: str) -> str:
    """The name as stored (NFKC, case kept); ValueError saying why it is refused."""
    name = unicodedata.normalize("NFKC", raw).strip()
    if not name:
        raise ValueError("username must not be blank")
    if any(invisible(c) for c in name):
        raise ValueError("username must not contain invisible, format or control characters")
    for char in name:
        category = unicodedata.category(char)
        if char not in USERNAME_PUNCTUATION and category[0] not in "LMN":
            raise ValueError("username may hold letters, digits, '_', '.' and '-' only")
    if unicodedata.category(name[0]).startswith("M"):
        raise ValueError("username must not start with a combining mark")
    if not any(unicodedata.category(c)[0] in "LN" for c in name):
        raise ValueError("username needs at least one letter or digit")
    scripts = {s for s in map(script, name) if s is not None}
    if not _one_script(scripts):
        raise ValueError(f"username mixes scripts ({', '.join(sorted(scripts)).lower()})")
    return name


def key(username: str) -> str:
    """The folded form two usernames must not share; mirrors SQL `username_key()`,
    `lower(normalize(name, NFKC))`. PostgreSQL lowers each character alone, one for one (the
    simple mapping); `str.lower()` lowers in context and may give two (a final `Σ` gives `ς`,
    `İ` gives `i` + a combining dot), so a cache key folded that way would miss the one the
    user's edit drops (a stale profile under that spelling)."""
    if username.isascii():
        # NFKC leaves ASCII as it is and ASCII lowers one for one: the common case without a
        # generator per character (it was a third of a cached profile read's CPU, cProfile).
        return username.lower()
    return "".join(_lower_one(c) for c in unicodedata.normalize("NFKC", username))


def _lower_one(char: str) -> str:
    lowered = char.lower()
    # Only U+0130 lowers to more than one character; its simple mapping is its first.
    return lowered if len(lowered) == 1 else lowered[0]


def canonical_tag(raw: str) -> str:
    tag = unicodedata.normalize("NFKC", raw).strip()
    if any(invisible(c) for c in tag):
        raise ValueError("tags must not contain invisible, format or control characters")
    if not tag:
        raise ValueError("tags must not be blank")
    return tag.lower()


def tag_lookup(raw: str | None) -> str | None:
    """A `?tag=` filter folded as stored tags are (one that cannot exist matches nothing)."""
    return None if raw is None else unicodedata.normalize("NFKC", raw).strip().lower()


def distinct(tags: list[str]) -> list[str]:
    """Each tag once, in the order first given."""
    return list(dict.fromkeys(tags))
