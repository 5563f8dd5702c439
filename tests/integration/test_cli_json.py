"""Every command with machine output: `--json` on stdout (nothing else there), `--json-file` to
a file, the same document."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from tests.conftest import create_empty_database, drop_database

pytestmark = pytest.mark.integration


@pytest.fixture
async def empty_database(servers: tuple[str, str]) -> AsyncIterator[str]:
    url = await create_empty_database(servers[0], "brisk_cli_json")
    yield url
    await drop_database(servers[0], url)


def brisk(tmp_path: Path, database_url: str, *args: str) -> Any:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("BRISK_")}
    done = subprocess.run(
        [sys.executable, "-m", "brisk.cli", *args, "--json-file", str(tmp_path / "out.json")],
        env={**clean, "BRISK_DATABASE_URL": database_url},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode in (0, 1), done.stderr[-3000:]
    printed = json.loads(done.stdout)  # stdout holds the JSON alone
    assert json.loads((tmp_path / "out.json").read_text()) == printed
    return printed


def test_migrate_seed_and_doctor_print_and_write_json(tmp_path: Path, empty_database: str) -> None:
    migrated = brisk(tmp_path, empty_database, "migrate", "--json")
    assert migrated["applied"][0].startswith("0001_")
    again = brisk(tmp_path, empty_database, "migrate", "--json")
    assert again == {"applied": []}
    seeded = brisk(tmp_path, empty_database, "seed", "--scale", "XS", "--json")
    assert seeded["scale"] == "XS"
    assert seeded["rows"]["users"] > 0
    report = brisk(tmp_path, empty_database, "doctor", "--json", "--min-rows", "1000")
    assert report["queries"]


async def test_migrate_recount_repairs_a_drifted_counter(
    tmp_path: Path, empty_database: str
) -> None:
    """What an old process left behind in a rolling upgrade (it wrote without keeping a counter
    the new migration added) is found and corrected, and a second run finds no drift."""
    brisk(tmp_path, empty_database, "seed", "--scale", "XS", "--json")
    conn = await asyncpg.connect(empty_database)
    try:
        reader = await conn.fetchval("SELECT min(user_id) FROM feed_counts")
        await conn.execute(
            "UPDATE feed_counts SET articles_count = articles_count + 7 WHERE user_id = $1", reader
        )
        repaired = brisk(tmp_path, empty_database, "migrate", "--recount", "--json")
        assert repaired["applied"] == []
        assert repaired["recounted"]["recount-feed-counters"] == 1, repaired
        again = brisk(tmp_path, empty_database, "migrate", "--recount", "--json")
        assert set(again["recounted"].values()) == {0}, again
        real = await conn.fetchval(
            "SELECT count(*) FROM follows f JOIN articles a ON a.author_id = f.followee_id"
            " WHERE f.follower_id = $1",
            reader,
        )
        stored = await conn.fetchval(
            "SELECT articles_count FROM feed_counts WHERE user_id = $1", reader
        )
        assert stored == real
    finally:
        await conn.close()
