"""What a person reads when something is wrong: a bad setting names its variable, an
unreachable database is one line and exit status 3, never a traceback; `brisk --version`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from brisk import __version__
from tests.redis_servers import free_port

pytestmark = pytest.mark.integration


def brisk(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("BRISK_")}
    return subprocess.run(
        [sys.executable, "-m", "brisk.cli", *args],
        env={**clean, **env},
        cwd=tmp_path,  # no .env file
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_version(tmp_path: Path) -> None:
    shown = brisk(tmp_path, "--version")
    assert shown.returncode == 0
    assert shown.stdout.strip() == f"brisk {__version__}"


def test_a_bad_setting_names_its_variable(tmp_path: Path) -> None:
    failed = brisk(tmp_path, "migrate", BRISK_DB__POOL_MAX_SIZE="zero")
    assert failed.returncode == 2
    (line,) = failed.stderr.strip().splitlines()
    assert line.startswith("configuration error: BRISK_DB__POOL_MAX_SIZE: "), line
    assert "Value error" not in line


@pytest.mark.parametrize("command", [["migrate"], ["doctor"], ["serve", "--dev"]])
def test_an_unreachable_database_is_one_line_and_status_3(
    tmp_path: Path, command: list[str]
) -> None:
    nowhere = f"postgresql://brisk@127.0.0.1:{free_port()}/brisk"
    failed = brisk(
        tmp_path,
        *command,
        BRISK_DATABASE_URL=nowhere,
        BRISK_REDIS_URL=f"redis://127.0.0.1:{free_port()}/0",
    )
    assert failed.returncode == 3, failed.stderr[-2000:]
    assert "Traceback" not in failed.stderr
    errors = [line for line in failed.stderr.splitlines() if "cannot reach" in line]
    assert len(errors) == 1, failed.stderr
    assert errors[0].startswith(f"cannot reach PostgreSQL at {nowhere}: "), errors[0]
