"""The rooms of the house and what each may import (docs/ARCHITECTURE.md), checked from the
source with ast: every import counts, including those inside functions and under
TYPE_CHECKING, because a type-only import still ties one room to another."""

from __future__ import annotations

import ast
from fnmatch import fnmatch
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
DOMAINS = ("users", "profiles", "articles", "comments", "tags", "notifications", "dashboard")
DOMAIN_MODULES = tuple(f"brisk.{d}" for d in DOMAINS)

# (modules, by path under src/brisk, glob) -> imports they must not make (module prefixes).
RULES: list[tuple[str, tuple[str, ...]]] = [
    # Services own caching and transactions; HTTP is the routers' business.
    ("*/service.py", ("brisk.api", "brisk.app", "brisk.services", "fastapi", "starlette")),
    # Routers parse, call one service, answer: no drivers, no SQL, no cache internals.
    ("*/router.py", ("redis", "asyncpg", "brisk.db", "brisk.cache", "brisk.app")),
    # The container knows the services it builds, not the HTTP edge that reads it.
    ("services.py", ("brisk.api", "brisk.app", "fastapi", "starlette")),
    # Repositories own SQL and nothing above it.
    ("*/repository.py", ("brisk.api", "brisk.app", "brisk.services", "brisk.cache", "fastapi")),
    # The cache knows keys and Redis, not where reads go (the lifespan hands it primary_only)
    # nor what the domains are.
    ("cache/*", ("brisk.db.routing", "brisk.api", "brisk.services", *DOMAIN_MODULES)),
    # The database room serves every domain and knows none of them.
    ("db/*", ("brisk.api", "brisk.cache", "brisk.services", *DOMAIN_MODULES)),
    # A wire shape is data: it knows other shapes, nothing that moves bytes.
    ("*/views.py", ("brisk.api", "brisk.cache", "brisk.db", "brisk.services", "fastapi")),
    ("overlay/*", ("brisk.api", "brisk.services", "fastapi", "starlette")),
    ("observability/*", ("brisk.api", "brisk.services", *DOMAIN_MODULES)),
    # Only the entry points build the app; everything else is handed what it needs.
    ("*", ("brisk.app",)),
]
# Who may import the composition root.
ENTRY_POINTS = {"asgi.py", "cli/*", "lab/*"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, module: str) -> set[str]:
    """Every module `module` (found at `path`) imports, relative imports resolved."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the module's package
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                found.add(".".join([*base, node.module or ""]).rstrip("."))
            elif node.module:
                found.add(node.module)
                found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def _modules() -> list[tuple[str, Path]]:
    root = SRC / "brisk"
    return [(p.relative_to(root).as_posix(), p) for p in sorted(root.rglob("*.py"))]


def _violations(glob: str, forbidden: tuple[str, ...]) -> list[str]:
    found = []
    for rel, path in _modules():
        if not fnmatch(rel, glob):
            continue
        if forbidden == ("brisk.app",) and (rel == "app.py" or _is_entry(rel)):
            continue
        names = _imports(path, _module_name(path))
        found += [f"{rel} imports {name}" for name in _violations_in(names, forbidden)]
    return found


def _violations_in(names: set[str], forbidden: tuple[str, ...]) -> list[str]:
    return sorted(n for n in names if any(n == f or n.startswith(f + ".") for f in forbidden))


def _is_entry(rel: str) -> bool:
    return any(fnmatch(rel, pattern) for pattern in ENTRY_POINTS)


@pytest.mark.parametrize(("glob", "forbidden"), RULES, ids=[r[0] for r in RULES])
def test_rooms_import_only_what_they_may(glob: str, forbidden: tuple[str, ...]) -> None:
    assert _violations(glob, forbidden) == []


def test_every_domain_has_the_rule_files() -> None:
    """The rules above bite only if the domains keep the same file names."""
    root = SRC / "brisk"
    for domain in DOMAINS:
        assert (root / domain / "service.py").exists(), domain
        assert (root / domain / "router.py").exists(), domain


def test_the_checker_sees_a_violation(tmp_path: Path) -> None:
    """A rule that cannot fail proves nothing: the parser finds a plain, a from- and a
    function-local import."""
    module = tmp_path / "m.py"
    module.write_text(
        "import redis\nfrom brisk.api.responses import iso\n"
        "def f():\n    from brisk.app import create_app\n"
    )
    names = _imports(module, "brisk.articles.m")
    assert {"redis", "brisk.api.responses", "brisk.app"} <= names
    assert "brisk.api.responses" in _violations_in(names, ("brisk.api",))
