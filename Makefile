# Omni OMS: `make dev` runs the whole stack, `make test` runs the whole suite.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum < requirements.lock | cut -d' ' -f1)


.PHONY: client examples screenshots histories install dev test test-fast lint format lock worker api migrate seed clean reconcile repair bench bench-pricing bench-routing bench-primitives bench-steps

$(STAMP): requirements.lock
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements.lock
	@rm -f $(VENV)/.installed-*
	@touch $@

# The channel client (client/) is importable from the venv without a build: a .pth file.
CLIENT_PTH := $(VENV)/.client-path

$(CLIENT_PTH): $(STAMP)
	echo "$(CURDIR)/client" > "$$($(BIN)/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/omni-oms-client.pth"
	@touch $@

install: $(STAMP) $(CLIENT_PTH)

# Regenerate the client's types from the API's OpenAPI document.
client: install
	$(BIN)/python client/generate.py

dev: install
	$(BIN)/python -m workers.dev

test: install
	$(BIN)/python -m pytest -q

test-fast: install
	$(BIN)/python -m pytest -q -m "unit"

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

worker: install
	$(BIN)/python -m workers.worker

api: install
	$(BIN)/python -m workers.api_server

migrate: install
	$(BIN)/python -m workers.cli migrate

seed: install
	$(BIN)/python -m workers.cli seed

# Regenerate requirements.lock from pyproject.toml (needs the network to PyPI).
lock:
	$(PY) -m venv /tmp/oms-lock-venv && /tmp/oms-lock-venv/bin/pip install --quiet uv
	/tmp/oms-lock-venv/bin/uv pip compile pyproject.toml --extra dev --python-version 3.11 \
		--universal --generate-hashes -o requirements.lock

clean:
	rm -rf .oms .pytest_cache .mypy_cache .ruff_cache

reconcile: install
	$(BIN)/python -m workers.reconcile

repair: install
	$(BIN)/python -m workers.cli repair

bench: install
	$(BIN)/python -m benchmarks.full_stack $(BENCH_FLAGS)

bench-primitives: install
	$(BIN)/python -m benchmarks.primitives

bench-steps: install
	$(BIN)/python -m benchmarks.steps

bench-pricing: install
	$(BIN)/python -m benchmarks.pricing

bench-routing: install
	$(BIN)/python -m benchmarks.routing

# Screenshots of every console page, written under docs/console/ by its browser tests.
examples: install
	OMS_EXAMPLES=1 $(BIN)/python -m pytest -q tests/e2e/test_contract.py -k answers_as_its_schema

screenshots: install
	OMS_SCREENSHOTS=1 $(BIN)/python -m pytest -q tests/integration/test_console.py

# Re-record the workflow histories replayed by the tests (only when a change is meant to).
histories: install
	$(BIN)/python -m tests.histories.record
