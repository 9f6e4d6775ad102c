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
HTTPS_PORT ?= 3443
MOTO_PORT ?= 5000

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check "uv==0.13.9"

# The template scanners pin their own boto3 and cfn-lint, so they live in a tool environment
# of their own instead of moving the project's locked versions.
SCAN      := .tools/scan/bin
SCANNERS  := "checkov==3.3.30" "cfn-lint-serverless==0.3.6" "cfn-lint==1.58.0"
$(SCAN)/checkov: | $(UV)
	$(UV) venv --quiet --python $(PYTHON) .tools/scan
	$(UV) pip install --quiet --python $(SCAN)/python $(SCANNERS)

$(BIN)/mailexports: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --extra cli
	@touch $@

.PHONY: help
help: ## Show this help
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-10s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: install
install: $(BIN)/mailexports ## Create .venv with the locked dependencies

.PHONY: run
run: install ## Run the local stack (API on :3000, HTTPS on :3443, moto on :5000) with a demo tenant
	$(BIN)/mailexports run --api-port $(API_PORT) --https-port $(HTTPS_PORT) --moto-port $(MOTO_PORT)

.PHONY: test
test: lint contract-clients ## Lint, then run every test (unit and integration), one worker per core
	$(BIN)/pytest -n auto --dist loadscope

# The published npm clients the contract tests run (tests/contract/node), from the lock file.
CONTRACT_NODE := tests/contract/node
$(CONTRACT_NODE)/node_modules/.package-lock.json: $(CONTRACT_NODE)/package.json $(CONTRACT_NODE)/package-lock.json
	npm ci --no-audit --no-fund --prefix $(CONTRACT_NODE)

.PHONY: contract-clients
contract-clients: ## Install the vendor clients the contract tests run (npm ci; Node.js from apt when missing)
	@if command -v node >/dev/null && command -v npm >/dev/null; then \
		$(MAKE) --no-print-directory $(CONTRACT_NODE)/node_modules/.package-lock.json; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "Node.js/npm not found: installing Debian's nodejs and npm for the npm client contract tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null && \
		$(MAKE) --no-print-directory $(CONTRACT_NODE)/node_modules/.package-lock.json; \
	else \
		echo "Node.js/npm not found: the npm client contract tests (tests/integration/test_contract_*.py) will be skipped"; \
	fi

.PHONY: unit
unit: install ## Run the unit tests only (in-process moto, no network)
	$(BIN)/pytest -n auto --dist loadscope tests/unit

.PHONY: lint
lint: install $(SCAN)/checkov ## ruff, mypy, `sam validate --lint`, cfn-lint's serverless rules and checkov
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	@# Every handler is a module named `app`, so each is checked on its own.
	@for handler in functions/*/app.py; do $(BIN)/mypy --strict "$$handler" >/dev/null || { $(BIN)/mypy --strict "$$handler"; exit 1; }; done
	$(BIN)/sam validate --lint
	@# Every finding is fixed or skipped in template.yaml beside its resource, with the reason.
	$(SCAN)/cfn-lint --append-rules cfn_lint_serverless.rules -- template.yaml
	$(SCAN)/checkov --file template.yaml --framework cloudformation --compact --quiet --skip-download

FUZZ_EXAMPLES ?= 200
.PHONY: fuzz
fuzz: install ## Fuzz the canonical API from its OpenAPI document (schemathesis) against a fresh local stack
	$(BIN)/python -m mailexports_dev.fuzz --max-examples $(FUZZ_EXAMPLES)

.PHONY: format
format: install ## Format and autofix with ruff
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

.PHONY: openapi
openapi: install ## Write docs/openapi.json, the OpenAPI document of the canonical API
	$(BIN)/python -m mailexports_dev.write_openapi docs/openapi.json

.PHONY: build
build: install ## sam build (no container; the layer is compiled to bytecode, see layers/Makefile)
	LAYER_PYTHON="$$($(BIN)/python -c 'import sys; print(sys._base_executable)')" $(BIN)/sam build

.PHONY: bench
bench: install ## Run the benchmarks and print their figures
	$(BIN)/python -m bench

.PHONY: soak
soak: install ## Soak the local stack (loopback, ~2-5 min): 20 clients, 200 exports, injected faults
	$(BIN)/python -m tests.soak

.PHONY: clean
clean: ## Remove the virtual environments and build output
	rm -rf $(VENV) .tools .aws-sam .mypy_cache .ruff_cache .pytest_cache
