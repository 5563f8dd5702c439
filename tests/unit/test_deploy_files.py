"""The deploy files agree with the code: every BRISK_ variable they set is a real setting whose
value parses, and the probes name real endpoints. (Schemas: `kubernetes-validate --strict`,
see docs/SCALING.md; nginx: `nginx -t` in tests/cluster.)"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from brisk.app import create_app
from brisk.settings import Settings
from tests.conftest import REPO_ROOT

DEPLOY = REPO_ROOT / "deploy"


def documents(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def brisk_variables() -> dict[str, str]:
    found: dict[str, str] = {}
    for path in sorted((DEPLOY / "kubernetes").glob("*.yaml")):
        for doc in documents(path):
            found.update(doc.get("data", {}))
            found.update(doc.get("stringData", {}))
    for service in documents(DEPLOY / "compose" / "compose.yaml")[0]["services"].values():
        environment = service.get("environment", {})
        found.update(environment if isinstance(environment, dict) else {})
    return {k: str(v) for k, v in found.items() if k.startswith("BRISK_")}


def setting_exists(variable: str) -> bool:
    model: type[BaseModel] = Settings
    for part in variable.removeprefix("BRISK_").lower().split("__"):
        field = model.model_fields.get(part)
        if field is None:
            return False
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            model = annotation
    return True


def test_every_variable_is_a_setting() -> None:
    variables = brisk_variables()
    assert "BRISK_REDIS__MODE" in variables
    # Read by the migration Job's shell, not by brisk.
    unknown = [v for v in variables if not setting_exists(v) and v != "BRISK_MIGRATE_DATABASE_URL"]
    assert unknown == []


def test_the_values_parse(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in brisk_variables().items():
        if "${" not in value:  # compose interpolation is filled in at deploy time
            monkeypatch.setenv(name, value)
    settings = Settings(dev=True)  # the manifests' secret is a placeholder on purpose
    assert settings.redis.mode == "cluster"
    assert settings.db.pgbouncer
    assert settings.database_replica_urls


def test_probes_name_real_endpoints() -> None:
    (deployment,) = documents(DEPLOY / "kubernetes" / "deployment.yaml")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    paths = {container[p]["httpGet"]["path"] for p in ("readinessProbe", "livenessProbe")}
    assert paths == {"/health/ready", "/health/live"}
    app = create_app(Settings(dev=True, database_url="postgresql://unused/db"))
    assert paths <= set(app.openapi()["paths"])
