# mailexports — `make help` lists the targets. The virtual environment is created on first use.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV      := .venv
BIN       := $(VENV)/bin
UV        := .tools/bin/uv
PYTHON    ?= python3
export SAM_CLI_TELEMETRY := 0
export UV_PYTHON_DOWNLOADS := never

API_PORT  ?= 3000
MOTO_PORT ?= 5000

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check "uv==0.13.9"

$(BIN)/mailexports: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen
	@touch $@

.PHONY: help
help: ## Show this help
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-10s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: install
install: $(BIN)/mailexports ## Create .venv with the locked dependencies

.PHONY: run
run: install ## Run the local stack (API on :3000, moto on :5000) with a demo tenant
	$(BIN)/mailexports run --api-port $(API_PORT) --moto-port $(MOTO_PORT)

.PHONY: test
test: lint ## Lint, then run every test (unit and integration), one worker per core
	$(BIN)/pytest -n auto --dist loadscope

.PHONY: unit
unit: install ## Run the unit tests only (in-process moto, no network)
	$(BIN)/pytest -n auto --dist loadscope tests/unit

.PHONY: lint
lint: install ## ruff, mypy and `sam validate --lint`
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	@# Every handler is a module named `app`, so each is checked on its own.
	@for handler in functions/*/app.py; do $(BIN)/mypy --strict "$$handler" >/dev/null || { $(BIN)/mypy --strict "$$handler"; exit 1; }; done
	$(BIN)/sam validate --lint

.PHONY: format
format: install ## Format and autofix with ruff
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

.PHONY: openapi
openapi: install ## Write docs/openapi.json, the OpenAPI document of the canonical API
	$(BIN)/python -m mailexports_cli.write_openapi docs/openapi.json

.PHONY: build
build: install ## sam build (no container)
	$(BIN)/sam build

.PHONY: bench
bench: install ## Run the benchmarks and print their figures
	$(BIN)/python -m bench

.PHONY: clean
clean: ## Remove the virtual environments and build output
	rm -rf $(VENV) .tools .aws-sam .mypy_cache .ruff_cache .pytest_cache
