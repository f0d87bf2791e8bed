# Borealis: `make up` starts the stack, `make test` runs the whole suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install install-test up down status test lint test-unit test-integration test-cluster \
        test-ui generate bench soak screenshots clean

install: $(STAMP)
	@scripts/install-system.sh

install-test: $(STAMP)
	@scripts/install-system.sh --test

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/pip install --quiet --quiet --disable-pip-version-check -e '.[test,dev]'
	@touch $(STAMP)

# One line on failure (the supervisor's reason), then make's own `Error 1`.
# `make up TARGETS=FILE`: no mini-cluster, watch the instances listed in FILE.
up: install
	@$(BIN)/borealis up --detach $(if $(TARGETS),--targets $(TARGETS))

down:
	@$(BIN)/borealis down

status:
	@$(BIN)/borealis status

generate: $(STAMP)
	$(BIN)/python -m alerts.generate
	$(BIN)/python -m dashboards.grafana.generate

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache
	$(BIN)/python -m alerts.generate --check
	$(BIN)/python -m dashboards.grafana.generate --check
	promtool check rules alerts/generated/*.yml alerts/tests/generated/*.yml
	cd alerts/tests && promtool test rules *.test.yml

PYTEST := TMPDIR=$(CURDIR)/.test-tmp $(BIN)/pytest -p no:cacheprovider

test: install-test lint
	@mkdir -p .test-tmp
	$(PYTEST) --durations=25 tests/unit tests/integration tests/cluster tests/ui

test-unit: $(STAMP)
	$(PYTEST) tests/unit

test-integration: install-test
	@mkdir -p .test-tmp
	$(PYTEST) tests/integration

test-cluster: install-test
	@mkdir -p .test-tmp
	$(PYTEST) tests/cluster tests/ui

# The README's screenshots, saved by the browser tests once each page is fully drawn.
SCREENSHOT_TESTS := tests/ui/test_pages.py tests/ui/test_pi_page.py tests/ui/test_alerts_page.py
screenshots: install-test
	@mkdir -p .test-tmp
	BOREALIS_TEST_SCREENSHOTS=$(CURDIR)/docs/screenshots $(PYTEST) $(SCREENSHOT_TESTS) \
		-k 'overview or replication or io_page or highlights or stacks_load or editor'

bench: install-test
	$(BIN)/python -m bench

# `make soak MINUTES=30 [SEED=n]`: the chaos soak on a stack of its own (ports from
# SOAK_PORT_BASE, default 24400); exits non-zero when a check fails. WRITE_DOCS=1 rewrites
# docs/reliability.md's Soak section.
MINUTES ?= 30
soak: install-test
	$(BIN)/python -m bench.soak --minutes $(MINUTES) $(if $(SEED),--seed $(SEED)) \
		$(if $(WRITE_DOCS),--write-docs)

clean:
	rm -rf $(VENV) .test-tmp .mypy_cache .ruff_cache
