"""Services return one kind of thing in every domain: what a router calls answers the response
body as enveloped JSON bytes (sent as they are, cached or not), or None when the response has
no body (204). Read from the routers' own calls, so a new route is held to it at once."""

from __future__ import annotations

import ast
import importlib
import inspect

import pytest

from tests.unit.test_import_rules import DOMAINS, SRC


def _called_by_router(domain: str) -> set[str]:
    tree = ast.parse((SRC / "brisk" / domain / "router.py").read_text())
    return {
        node.func.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "service"
    }


def _service_class(domain: str) -> type:
    module = importlib.import_module(f"brisk.{domain}.service")
    (cls,) = [
        c
        for name, c in vars(module).items()
        if inspect.isclass(c) and name.endswith("Service") and c.__module__ == module.__name__
    ]
    return cls


@pytest.mark.parametrize("domain", DOMAINS)
def test_what_routers_call_answers_the_body(domain: str) -> None:
    called = _called_by_router(domain)
    assert called, f"{domain}/router.py calls no service method (is it still `service`?)"
    cls = _service_class(domain)
    for name in sorted(called):
        method = getattr(cls, name)
        assert inspect.iscoroutinefunction(method), f"{cls.__name__}.{name}"
        returns = inspect.signature(method).return_annotation
        assert returns in ("bytes", "None"), f"{cls.__name__}.{name} returns {returns}"


def test_the_reader_finds_the_calls() -> None:
    assert "get_article" in _called_by_router("articles")
    assert "list_tags" in _called_by_router("tags")
