"""One wire shape per resource: each view's model is the definition, and both the Python
builders and the dashboard's SQL (its json_build_object calls) are checked against it key by
key, in order, at every level of nesting. A field added to a model and not to the SQL (or the
other way round) fails here before any database is involved."""

from __future__ import annotations

import inspect
import re
from typing import Any, Union, get_args

import pytest
from pydantic import BaseModel

from brisk.articles.views import ArticleCard, ArticlePublic, article_card, article_public
from brisk.comments.views import CommentPublic, comment_public
from brisk.dashboard import repository as dashboard_sql
from brisk.dashboard.views import DashboardResponse, dashboard_public
from brisk.notifications.views import NotificationPublic, notification_public
from brisk.profiles.views import ProfilePublic, profile_public
from brisk.users.views import UserPublic, user_public

# A shape: the keys of a JSON object in order, each with the shape of its value (None: a
# scalar, or a list of scalars). A list of objects has the shape of its items.
Shape = list[tuple[str, Any]]


def model_shape(model: type[BaseModel]) -> Shape:
    return [(name, _annotation_shape(f.annotation)) for name, f in model.model_fields.items()]


def _annotation_shape(annotation: Any) -> Shape | None:
    if inspect.isclass(annotation) and issubclass(annotation, BaseModel):
        return model_shape(annotation)
    for arg in get_args(annotation):  # list[X], X | None
        shape = _annotation_shape(arg)
        if shape is not None:
            return shape
    return None


def value_shape(value: Any) -> Shape | None:
    if isinstance(value, dict):
        return [(key, value_shape(item)) for key, item in value.items()]
    if isinstance(value, list) and value:
        return value_shape(value[0])
    return None


class AnyRow(dict[str, Any]):
    """A row with every column: the builders' keys, not their values, are under test."""

    def __missing__(self, column: str) -> str:
        return f"<{column}>"


BUILDERS = [
    (ProfilePublic, lambda: profile_public(AnyRow())),
    (ArticleCard, lambda: article_card(AnyRow())),
    (ArticlePublic, lambda: article_public(AnyRow())),
    (CommentPublic, lambda: comment_public(AnyRow())),
    (NotificationPublic, lambda: notification_public(AnyRow())),
    (UserPublic, lambda: user_public(AnyRow(), "token")),
    (
        DashboardResponse,
        lambda: dashboard_public(AnyRow(), [AnyRow()], [AnyRow()], [AnyRow()], 0),
    ),
]


@pytest.mark.parametrize(("model", "build"), BUILDERS, ids=[m.__name__ for m, _ in BUILDERS])
def test_each_builder_gives_its_models_shape(model: type[BaseModel], build: Any) -> None:
    assert value_shape(build()) == model_shape(model)


# -- the SQL side: json_build_object('key', value, ...) read as a shape ---------------------


def _split_arguments(text: str, start: int) -> tuple[list[str], int]:
    """The top-level comma-separated arguments of the call whose "(" is at `start`."""
    depth, quoted, arguments, current = 0, False, [], start + 1
    for i in range(start, len(text)):
        char = text[i]
        if char == "'":
            quoted = not quoted
        elif quoted:
            continue
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                arguments.append(text[current:i])
                return arguments, i
        elif char == "," and depth == 1:
            arguments.append(text[current:i])
            current = i + 1
    raise AssertionError("unbalanced parentheses")


_CALL = re.compile(r"\bjson_build_object\s*\(", re.IGNORECASE)


def sql_shape(expression: str) -> Shape | None:
    """The shape of the first json_build_object in `expression`, None when it has none."""
    found = _CALL.search(expression)
    if found is None:
        return None
    arguments, _ = _split_arguments(expression, found.end() - 1)
    assert len(arguments) % 2 == 0, arguments
    shape = []
    for key, value in zip(arguments[::2], arguments[1::2], strict=True):
        name = re.fullmatch(r"\s*'([A-Za-z]+)'\s*", key)
        assert name is not None, f"not a literal key: {key!r}"
        shape.append((name.group(1), sql_shape(value)))
    return shape


def test_the_dashboard_sql_builds_the_dashboard_models_shape() -> None:
    sql = re.sub(r"--[^\n]*", "", dashboard_sql.Q["get-dashboard"].sql)
    assert sql_shape(sql) == model_shape(DashboardResponse)


def test_the_sql_reader_sees_a_missing_or_extra_key() -> None:
    """The check above can fail: a key too many or too few, or one nested level off."""
    good = "json_build_object('a', x, 'b', json_build_object('c', f(y, z)))"
    assert sql_shape(good) == [("a", None), ("b", [("c", None)])]
    assert sql_shape("json_build_object('a', x)") != sql_shape(good)
    assert sql_shape("json_build_object('a', x, 'b', y)") != sql_shape(good)


def test_no_union_escapes_the_shape_reader() -> None:
    """Optional nested models (a notification's article) are read through the union."""
    assert _annotation_shape(Union[ProfilePublic, None]) == model_shape(ProfilePublic)  # noqa: UP007
