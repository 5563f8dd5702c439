"""The named-SQL loader: names, fragments, and the mistakes it refuses."""

from __future__ import annotations

from pathlib import Path

import pytest

from brisk.db.queries import REGISTRY, Query, load_queries


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "q.sql"
    path.write_text(text)
    return path


def test_names_fragments_and_includes(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "-- a file comment is ignored\n"
        "-- fragment: cols\nSELECT a, b\n\n"
        "-- name: unit-one\n-- include: cols\nFROM t WHERE a = $1;\n\n"
        "-- name: unit-two\nDELETE FROM t;\n",
    )
    loaded = load_queries(path)
    assert loaded["unit-one"].sql == "SELECT a, b\nFROM t WHERE a = $1;"
    assert loaded["unit-two"].sql == "DELETE FROM t;"
    assert REGISTRY["unit-one"] is loaded["unit-one"]
    assert "cols" not in loaded


def test_refuses_unknown_fragment(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown fragment"):
        load_queries(_write(tmp_path, "-- name: unit-bad\n-- include: nope\nSELECT 1;"))


def test_refuses_duplicate_names(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="defined twice"):
        load_queries(_write(tmp_path, "-- name: unit-dup\nSELECT 1;\n-- name: unit-dup\nSELECT 2;"))


def test_refuses_same_name_with_other_sql_in_another_file(tmp_path: Path) -> None:
    load_queries(_write(tmp_path, "-- name: unit-clash\nSELECT 1;"))
    other = tmp_path / "other.sql"
    other.write_text("-- name: unit-clash\nSELECT 2;")
    with pytest.raises(ValueError, match="also defined elsewhere"):
        load_queries(other)


def test_every_shipped_query_is_projected() -> None:
    import brisk.app  # noqa: F401 - loads every domain's queries

    starred = [name for name, q in REGISTRY.items() if "*" in q.sql.replace("count(*)", "")]
    assert starred == []
    assert len([n for n in REGISTRY if not n.startswith("unit-")]) > 30


def test_with_limit_fills_the_slot_with_a_checked_literal() -> None:
    query = Query("unit-sized", "SELECT 1 LIMIT {limit} OFFSET $1")
    assert query.with_limit(20).sql == "SELECT 1 LIMIT 20 OFFSET $1"
    assert query.with_limit(20) is query.with_limit(20)  # built once per size
    for bad in (0, 1001, "20; DROP TABLE users", 2.0, True):
        with pytest.raises(ValueError, match="page size"):
            query.with_limit(bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="no"):
        Query("unit-fixed", "SELECT 1").with_limit(5)
