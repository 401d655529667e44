# The front door. `make run` starts the whole portal on its embedded default; `make test` runs
# the whole suite (lint, types, tests on PostgreSQL + Redis, then on the embedded default).

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | md5sum | cut -c1-12)

# Services the tests use; .ci/run starts them if they are down.
TEST_DATABASE_URL ?= postgres://root@127.0.0.1:5432/portal
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15

.PHONY: venv run test lint typecheck audit pytest pytest-embedded bench chaos clean help

help:
	@echo "make run    start the portal, worker, beat and the Extend simulator with demo data"
	@echo "make test   lint, type-check and run the whole test suite"
	@echo "make bench  run the benchmarks in bench/ (results in bench/results/)"

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	rm -f $(VENV)/.installed-*
	touch $@

venv: $(STAMP)

run: $(STAMP)
	$(BIN)/python scripts/run_portal.py

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy .

# The whole suite against real PostgreSQL and Redis.
pytest: $(STAMP)
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} REDIS_URL=$${REDIS_URL:-$(TEST_REDIS_URL)} \
		$(BIN)/pytest $(PYTEST_ARGS)

# The suite again on the embedded default (SQLite database and broker, no Redis). Tests marked
# postgres are deselected automatically; tests needing Redis are marked redis and left out here.
pytest-embedded: $(STAMP)
	env -u DATABASE_URL -u REDIS_URL PORTAL_VAR_DIR=$$(mktemp -d) \
		$(BIN)/pytest -m "not redis and not browser" $(PYTEST_ARGS)

test: lint typecheck audit pytest pytest-embedded

# Known vulnerabilities in the pinned requirements fail the build. Only when the vulnerability
# service cannot be reached (or does not know the packages) is it a warning: nothing was audited.
PIP_AUDIT ?= $(BIN)/pip-audit
NETWORK_FAILURE := ConnectionError|Max retries exceeded|Failed to establish|Name or service not known|Temporary failure in name resolution|timed out|Network is unreachable|SSLError|ProxyError
audit:
	@out=$$($(PIP_AUDIT) -r requirements.txt --progress-spinner off 2>&1); rc=$$?; \
	printf '%s\n' "$$out"; \
	if printf '%s\n' "$$out" | grep -Eq 'Found [0-9]+ known vulnerabilit'; then \
		echo "audit: FAILED, known vulnerabilities in requirements.txt (see above)."; exit 1; fi; \
	if [ $$rc -ne 0 ]; then \
		if printf '%s\n' "$$out" | grep -Eq '$(NETWORK_FAILURE)'; then \
			echo "WARNING: pip-audit could not reach the vulnerability service;" \
				"requirements.txt was NOT audited."; exit 0; fi; \
		echo "audit: FAILED, pip-audit exited with $$rc."; exit $$rc; fi; \
	skipped=$$(printf '%s\n' "$$out" | grep -c 'could not be audited'); \
	if [ "$$skipped" -gt 0 ]; then \
		echo "WARNING: $$skipped dependencies could not be audited: the vulnerability service" \
			"(PyPI's JSON API) could not be reached or does not know them."; fi; \
	exit 0

# Workers killed, Redis flushed and restarted, Extend failing: the ledger must still add up.
chaos: $(STAMP)
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} REDIS_URL=$${REDIS_URL:-$(TEST_REDIS_URL)} \
		$(BIN)/pytest -m chaos $(PYTEST_ARGS)

bench: $(STAMP)
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} REDIS_URL=$${REDIS_URL:-$(TEST_REDIS_URL)} \
		$(BIN)/python -m bench

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache
