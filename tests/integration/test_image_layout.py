"""deploy/Dockerfile's steps, replayed without Docker: each stage's files at the same absolute
paths (under a scratch root), the build stage thrown away after its COPY --from, then
`brisk --help` and `brisk migrate` run from the final layout as the image's CMD would.

This is what caught the image that could not start: its venv was built in /src/.venv and
copied to /opt/brisk, so every console script named an interpreter that was not in the image.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, create_empty_database, drop_database

pytestmark = pytest.mark.integration

DOCKERFILE = REPO_ROOT / "deploy" / "Dockerfile"
UV = REPO_ROOT / ".tools" / "bin" / "uv"


@dataclass
class Stage:
    name: str
    steps: list[tuple[str, str]] = field(default_factory=list)


def stages(text: str) -> list[Stage]:
    """The Dockerfile's stages and their instructions (continuations joined, comments dropped)."""
    joined = text.replace("\\\n", " ")
    found: list[Stage] = []
    for line in joined.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        instruction, _, argument = line.partition(" ")
        if instruction == "FROM":
            words = argument.split()
            found.append(Stage(words[2] if len(words) > 2 else f"stage{len(found)}"))
        else:
            found[-1].steps.append((instruction, argument.strip()))
    return found


class Layout:
    """One image filesystem at a time, rooted at `root`: absolute paths stay absolute."""

    def __init__(self, root: Path) -> None:
        self.root = root
        # The host's environment stands for the base image's (its proxy and certificate
        # settings included), less what points into this test's own venv.
        self.env = {k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "PYTHONPATH"}}
        self.env = {k: v for k, v in self.env.items() if not k.startswith(("BRISK_", "UV_"))}
        self.workdir = root

    def at(self, path: str) -> Path:
        return self.root / path.lstrip("/")

    def set_env(self, argument: str) -> None:
        for assignment in shlex.split(argument):
            name, _, value = assignment.partition("=")
            parts = [
                str(self.at(p)) if p.startswith("/") else os.path.expandvars(p)
                for p in value.split(":")
            ]
            # $PATH and friends expand to the host's value (the base image's, in Docker).
            self.env[name] = ":".join(p.replace("$PATH", self.env["PATH"]) for p in parts)


def replay_build(stage: Stage, layout: Layout) -> None:
    for instruction, argument in stage.steps:
        if instruction == "ENV":
            layout.set_env(argument)
        elif instruction == "WORKDIR":
            layout.workdir = layout.at(argument)
            layout.workdir.mkdir(parents=True, exist_ok=True)
        elif instruction == "COPY" and argument.startswith("--from=ghcr.io/astral-sh/uv:"):
            image_version = argument.split()[0].rsplit(":", 1)[1]
            assert f"UV_VERSION := {image_version}" in (REPO_ROOT / "Makefile").read_text()
            target = layout.at(argument.split()[-1])
            target.parent.mkdir(parents=True, exist_ok=True)
            target.symlink_to(UV)  # the same uv release, from .tools/
        elif instruction == "COPY":
            *sources, destination = argument.split()
            base = layout.at(destination) if destination.startswith("/") else layout.workdir
            place = base / destination if not destination.startswith("/") else base
            for source in sources:
                # Docker: a destination ending in / is a folder to copy into; else the target.
                target = place / Path(source).name if destination.endswith("/") else place
                if (REPO_ROOT / source).is_dir():
                    shutil.copytree(REPO_ROOT / source, target, ignore=_caches)
                else:
                    shutil.copy2(REPO_ROOT / source, target)
        elif instruction == "RUN":
            env = {**layout.env, "PATH": f"{layout.at('/usr/local/bin')}:{layout.env['PATH']}"}
            env["UV_PYTHON"] = _base_python()  # the image has exactly one Python
            result = subprocess.run(
                ["/bin/sh", "-c", argument], cwd=layout.workdir, env=env,  # as Docker runs it
                capture_output=True, text=True, timeout=600, check=False,
            )  # fmt: skip
            assert result.returncode == 0, f"RUN {argument}:\n{result.stderr[-3000:]}"
        else:
            pytest.fail(f"the replay does not know {instruction} in the build stage")


def _caches(_directory: str, names: list[str]) -> list[str]:
    return [n for n in names if n in {"__pycache__", ".mypy_cache"}]


def _base_python() -> str:
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    return str(Path(sys.base_prefix) / "bin" / version)


@pytest.fixture
async def empty_database(servers: tuple[str, str]) -> AsyncIterator[str]:
    url = await create_empty_database(servers[0], "brisk_image")
    yield url
    await drop_database(servers[0], url)


def test_the_image_layout_starts_and_migrates(tmp_path: Path, empty_database: str) -> None:
    if not UV.exists():
        pytest.skip("uv is not in .tools/ (make venv installs it)")
    build, final = stages(DOCKERFILE.read_text())
    root = tmp_path / "root"
    replay_build(build, Layout(root))
    # The final stage starts from a fresh base image: only what it copies survives.
    build_fs = root.rename(tmp_path / "build-stage")
    image = Layout(root)
    root.mkdir()
    command: list[str] = []
    for instruction, argument in final.steps:
        if instruction == "COPY":
            origin, source, destination = argument.split()
            assert origin == f"--from={build.name}"
            shutil.copytree(build_fs / source.lstrip("/"), image.at(destination), symlinks=True)
        elif instruction == "ENV":
            image.set_env(argument)
        elif instruction == "CMD":
            command = json.loads(argument)  # the exec form: a JSON array
    shutil.rmtree(build_fs)
    assert command[:2] == ["brisk", "serve"]

    brisk = shutil.which(command[0], path=image.env["PATH"])
    assert brisk is not None
    assert Path(brisk).is_relative_to(root), brisk  # the image's, not the host's
    env = {**image.env, "BRISK_DATABASE_URL": empty_database}
    shown = subprocess.run(
        [brisk, "--help"], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert shown.returncode == 0, shown.stderr[-2000:]
    assert "serve" in shown.stdout
    migrated = subprocess.run(
        [brisk, "migrate"], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert migrated.returncode == 0, migrated.stderr[-3000:]
    assert "0001_" in migrated.stdout + migrated.stderr
    # The tracing extra the README documents is in the image.
    python = Path(brisk).with_name("python")
    traced = subprocess.run(
        [str(python), "-c", "import opentelemetry.sdk, opentelemetry.exporter.otlp"],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert traced.returncode == 0, traced.stderr[-2000:]
