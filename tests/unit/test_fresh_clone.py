"""What a newcomer reads and runs from a bare clone: no folder outside it, install lines that
install this project, and the same figures in the README as in the commands' help."""

from __future__ import annotations

import re
from pathlib import Path

from typer.testing import CliRunner

from brisk.cli import build_app

REPO_ROOT = Path(__file__).resolve().parents[2]
README = (REPO_ROOT / "README.md").read_text()
# Spelled in pieces so this file does not match itself.
OUTSIDE_FOLDER = re.compile(r"\.\./" + "shared|parent\\s*/\\s*['\"]" + "shared['\"]")


def _tracked_text_files() -> list[Path]:
    roots = [REPO_ROOT / "src", REPO_ROOT / "tests"]
    files = [p for root in roots for p in root.rglob("*") if p.is_file() and p.suffix != ".pyc"]
    return [*files, REPO_ROOT / "Makefile", REPO_ROOT / "README.md"]


def test_nothing_reads_a_folder_beside_the_clone() -> None:
    offenders = [
        str(path.relative_to(REPO_ROOT))
        for path in _tracked_text_files()
        if OUTSIDE_FOLDER.search(path.read_text(errors="ignore"))
    ]
    assert offenders == []


def test_every_install_line_installs_this_project() -> None:
    # "brisk" on PyPI is somebody else's package: only the checkout or the git URL is ours.
    installs = re.findall(r"pip install ([^`\n#]+)", README)
    assert installs, "the README should say how to install"
    for target in installs:
        spec = target.strip().strip("'\"")
        assert spec.startswith(".") or "git+" in spec, target


def test_readme_and_help_give_the_same_quick_bench_duration() -> None:
    readme_line = next(line for line in README.splitlines() if "brisk bench --quick" in line)
    help_text = CliRunner().invoke(build_app(), ["bench", "--help"], terminal_width=200).output
    duration = re.search(r"(\d+-\d+ minutes)", readme_line)
    assert duration is not None, readme_line
    assert duration.group(1) in " ".join(help_text.split())


def test_readme_lists_the_demo_logins() -> None:
    from brisk.demo import DEMO_LOGINS

    for email, password in DEMO_LOGINS:
        assert email in README
        assert password in README
