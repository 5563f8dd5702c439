"""Field types shared by every domain's request schemas: the size limits live here, once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    StringConstraints,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema

from brisk import names

# PostgreSQL text cannot hold NUL; refusing it here turns a would-be 500 into a 422.
NO_NUL = r"^[^\x00]*$"


# Not NUL and not what pydantic's strip_whitespace removes (Rust's White_Space, which differs
# from JSON Schema's \s by U+0085 and U+FEFF): a stripped field still has a character left.
_KEEPS = r"[^\x00\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
NOT_BLANK = rf"^[^\x00]*{_KEEPS}[^\x00]*$"


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


@dataclass(frozen=True)
class _NoNul:
    """Refuses NUL in Python, and states the rule as a pattern in the JSON schema, so the
    OpenAPI document describes exactly what is accepted (schemathesis checks that)."""

    pattern: str = NO_NUL

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(_no_nul, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(schema)
        json_schema["pattern"] = self.pattern
        return json_schema


Text = _NoNul()
NonBlankText = _NoNul(NOT_BLANK)

Username = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=64, pattern=r"^[\w.-]+$"),
    AfterValidator(names.canonical_username),
]
Email = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True,
        to_lower=True,
        max_length=254,
        pattern=r"^[^@\s\x00]+@[^@\s\x00]+\.[^@\s\x00]+$",
    ),
]
Password = Annotated[str, StringConstraints(min_length=8, max_length=256), Text]
Bio = Annotated[str, StringConstraints(max_length=2000), Text]
# An absolute http(s) URL, or "" for none: `javascript:` and `data:` URLs would be stored XSS in
# any frontend that renders the image (issue 14).
IMAGE_URL = r"^(|[hH][tT][tT][pP][sS]?://[^\s\x00]+)$"
ImageUrl = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=2048, pattern=IMAGE_URL),
    _NoNul(IMAGE_URL),
]
Title = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), NonBlankText
]
Description = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000), NonBlankText
]
ArticleBody = Annotated[str, StringConstraints(min_length=1, max_length=100_000), Text]
CommentBody = Annotated[str, StringConstraints(min_length=1, max_length=10_000), Text]
Tag = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=64),
    NonBlankText,
    AfterValidator(names.canonical_tag),
]
MAX_TAGS = 20
# A keyset cursor: a notification id as a string, opaque to clients (and safe from JavaScript's
# 2^53). At most 18 digits, so it always fits a bigint: a bad one is a 422, never a 500.
CURSOR = r"^[1-9][0-9]{0,17}$"
Cursor = Annotated[str, StringConstraints(pattern=CURSOR)]


class Strict(BaseModel):
    """Request bodies refuse unknown fields, so nobody sets a server-owned one by accident."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


def no_nulls(schema: dict[str, Any]) -> None:
    """Optional fields documented as absent-or-a-value (the server refuses an explicit null)."""
    for prop in schema.get("properties", {}).values():
        branches = prop.pop("anyOf", None)
        if prop.get("default", 0) is None:
            del prop["default"]
        if branches:
            prop.update(next(b for b in branches if b.get("type") != "null"))


def patch_schema(schema: dict[str, Any]) -> None:
    no_nulls(schema)
    schema["minProperties"] = 1


def refuse_nulls(model: BaseModel) -> None:
    nulls = sorted(f for f in model.model_fields_set if getattr(model, f) is None)
    if nulls:
        raise ValueError(f"{', '.join(nulls)}: must not be null (leave it out instead)")


class Patch(Strict):
    """A partial update: at least one field, none of them null."""

    model_config = ConfigDict(json_schema_extra=patch_schema)

    @model_validator(mode="after")
    def _some_and_no_null(self) -> Self:
        if not self.model_fields_set:
            raise ValueError("at least one field is required")
        refuse_nulls(self)
        return self


class Lenient(BaseModel):
    """For bodies that frontends pad with extra fields (the user form sends its token back)."""

    model_config = ConfigDict(extra="ignore")
