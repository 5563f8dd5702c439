"""deploy/Dockerfile's steps, replayed without Docker: each stage's files at the same absolute
paths (under a scratch root), the build stage thrown away after its COPY --from, then
`brisk --help` and `brisk migrate` run from the final layout as the image's CMD would.

This is what caught the image that could not start: its venv was built in /src/.venv and
copied to /opt/brisk, so every console script named an interpreter that was not in the image.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from tests.compose_native import COMPOSE, scratch_root
from tests.conftest import REPO_ROOT, create_empty_database, drop_database
from tests.redis_servers import free_port

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


def replay_build(stage: Stage, layout: Layout, python: str) -> None:
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
            env["UV_PYTHON"] = python  # the image has exactly one Python
            result = subprocess.run(
                ["/bin/sh", "-c", argument], cwd=layout.workdir, env=env,  # as Docker runs it
                capture_output=True, text=True, timeout=600, check=False,
            )  # fmt: skip
            assert result.returncode == 0, f"RUN {argument}:\n{result.stderr[-3000:]}"
        else:
            pytest.fail(f"the replay does not know {instruction} in the build stage")


def _caches(_directory: str, names: list[str]) -> list[str]:
    return [n for n in names if n in {"__pycache__", ".mypy_cache"}]


def base_python(uid: int) -> str | None:
    """The base image's Python: this one's if the image's uid can use it, else the
    distribution's of the same version (a Python under /root, as pyenv's here, runs for
    another uid without its standard library; the image's, in /usr/local, is open to all)."""
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    for candidate in (Path(sys.base_prefix) / "bin" / version, Path("/usr/bin") / version):
        if candidate.exists() and _prefix(candidate, uid) == _prefix(candidate, 0):
            return str(candidate)
    return None


def _prefix(python: Path, uid: int) -> str:
    command = [str(python), "-c", "import sys; print(sys.prefix)"]
    if uid != 0 and os.geteuid() == 0:
        command = ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--", *command]
    found = subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)
    return found.stdout.strip() if found.returncode == 0 else f"failed: {found.stderr}"


@pytest.fixture
async def empty_database(servers: tuple[str, str]) -> AsyncIterator[str]:
    url = await create_empty_database(servers[0], "brisk_image")
    yield url
    await drop_database(servers[0], url)


@dataclass
class Image:
    """The final stage replayed: its filesystem under `root`, its ENV, USER and CMD."""

    layout: Layout
    uid: int = 0
    command: list[str] = field(default_factory=list)

    def as_user(self, command: list[str]) -> list[str]:
        """`command` as the image's USER. `useradd` is not replayed (it would change this
        machine's users): setpriv gives the uid and its group, which is all a process sees."""
        if self.uid == 0 or os.geteuid() != 0:
            return command
        ids = [f"--reuid={self.uid}", f"--regid={self.uid}", "--clear-groups"]
        return ["setpriv", *ids, "--", *command]


def replay_final(final: Stage, build: Stage, build_fs: Path, root: Path) -> Image:
    """The final stage starts from a fresh base image: only what it copies survives."""
    image = Image(Layout(root))
    for instruction, argument in final.steps:
        if instruction == "COPY":
            origin, source, destination = argument.split()
            assert origin == f"--from={build.name}"
            shutil.copytree(
                build_fs / source.lstrip("/"), image.layout.at(destination), symlinks=True
            )
        elif instruction == "ENV":
            image.layout.set_env(argument)
        elif instruction == "RUN":
            created = re.fullmatch(r"useradd --uid (\d+) --no-create-home (\w+)", argument)
            assert created, f"the replay does not know RUN {argument}"
            # Docker gives the user the home its entry names, which does not exist.
            image.layout.env["HOME"] = str(image.layout.at(f"/home/{created[2]}"))
        elif instruction == "USER":
            image.uid = int(argument)
        elif instruction == "CMD":
            image.command = json.loads(argument)  # the exec form: a JSON array
        else:
            assert instruction == "EXPOSE", instruction
    return image


def test_the_image_layout_starts_migrates_and_serves(
    empty_database: str, servers: tuple[str, str]
) -> None:
    if not UV.exists():
        pytest.skip("uv is not in .tools/ (make venv installs it)")
    if os.geteuid() == 0 and not shutil.which("setpriv"):
        pytest.skip("setpriv (util-linux) is needed to run as the image's USER")
    for scratch in scratch_root("brisk-image-"):  # reachable by the image's uid, unlike tmp_path
        _replay_and_run(scratch, empty_database, servers[1])


def _replay_and_run(scratch: Path, empty_database: str, redis_url: str) -> None:
    build, final = stages(DOCKERFILE.read_text())
    uid = int(next(argument for step, argument in final.steps if step == "USER"))
    python = base_python(uid)
    if python is None:
        pytest.skip(f"no Python {sys.version_info[:2]} that uid {uid} can run, as the image's")
    root = scratch / "root"
    replay_build(build, Layout(root), python)
    build_fs = root.rename(scratch / "build-stage")
    root.mkdir()
    image = replay_final(final, build, build_fs, root)
    shutil.rmtree(build_fs)
    assert image.command[:2] == ["brisk", "serve"]
    assert image.uid == 10001

    brisk = shutil.which(image.command[0], path=image.layout.env["PATH"])
    assert brisk is not None
    assert Path(brisk).is_relative_to(root), brisk  # the image's, not the host's
    env = {**image.layout.env, "BRISK_DATABASE_URL": empty_database}

    def run(*command: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            image.as_user(list(command)), env=env, cwd=root,  # WORKDIR: none, so /
            capture_output=True, text=True, timeout=timeout, check=False,
        )  # fmt: skip

    shown = run(brisk, "--help")
    assert shown.returncode == 0, shown.stderr[-2000:]
    assert "serve" in shown.stdout
    migrated = run(brisk, "migrate", timeout=120)
    assert migrated.returncode == 0, migrated.stderr[-3000:]
    assert "0001_" in migrated.stdout + migrated.stderr
    # The tracing extra the README documents is in the image.
    python = str(Path(brisk).with_name("python"))
    traced = run(python, "-c", "import opentelemetry.sdk, opentelemetry.exporter.otlp")
    assert traced.returncode == 0, traced.stderr[-2000:]
    serve_until_healthy(image, {**env, "BRISK_REDIS_URL": redis_url}, scratch / "serve.log")


def serve_until_healthy(image: Image, env: dict[str, str], log_path: Path) -> None:
    """The CMD, as the image's USER, at a free port, until the compose's healthcheck command
    (the image's `python`) passes."""
    port = free_port()
    command = [a if a != "8000" else str(port) for a in image.command]  # the CMD's --port
    assert command != image.command
    env = {**env, "BRISK_SECRET_KEY": secrets.token_urlsafe(48), "BRISK_HTTP__DRAIN_SECONDS": "0"}
    test = yaml.safe_load(COMPOSE.read_text())["x-brisk"]["healthcheck"]["test"]
    assert test[:2] == ["CMD", "python"]
    python = shutil.which("python", path=env["PATH"])
    assert python is not None
    assert Path(python).is_relative_to(image.layout.root), python
    check = image.as_user([python, *(a.replace(":8000/", f":{port}/") for a in test[2:])])
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            image.as_user(command), env=env, cwd=image.layout.root, stderr=log
        )
    try:
        deadline = time.monotonic() + 60
        while subprocess.run(check, env=env, capture_output=True, timeout=10).returncode != 0:
            assert server.poll() is None, log_path.read_text(errors="replace")[-3000:]
            assert time.monotonic() < deadline, "the healthcheck never passed"
            time.sleep(0.3)
    finally:
        server.terminate()
        server.wait(timeout=30)
