# The two commands a newcomer needs: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PORT ?= 8000
# An admin connection to a PostgreSQL server; the tests create and drop their own databases.
OMBUDS_TEST_DATABASE_URL ?= postgresql://postgres@127.0.0.1:5432/postgres
export OMBUDS_TEST_DATABASE_URL

.PHONY: demo test check install browser bench docs clean

PIP = $(VENV)/bin/pip install --quiet --disable-pip-version-check

# One stamp per step, so that each command installs only what it needs: the demo (and the
# benchmarks) the service alone, the tests the service and the test tools too.
$(VENV)/.created:
	$(PYTHON) -m venv $(VENV)
	touch $@

$(VENV)/.installed-app: pyproject.toml $(VENV)/.created
	$(PIP) -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed-app
	$(PIP) -e '.[test]'
	touch $@

## Everything a developer needs: the service and the test tools.
install: $(VENV)/.installed-test

# The browser tests drive Debian's Chromium (never `playwright install`).
browser:
	@command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium)

## Seed a small marketplace on SQLite with a manual clock and serve it on $(PORT).
demo: $(VENV)/.installed-app
	$(VENV)/bin/ombuds demo --port $(PORT)

## Lint, the layers and the types (configured in pyproject.toml).
check: $(VENV)/.installed-test
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy

## Lint, layers and types first (a finding fails the run), then every test on SQLite and PostgreSQL.
test: $(VENV)/.installed-test browser check
	$(VENV)/bin/pytest

## Benchmarks beside their baselines (needs PostgreSQL and pgbench).
bench: $(VENV)/.installed-app
	@command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	$(VENV)/bin/python -m bench.run_all

## Regenerate the lifecycle table in docs/architecture.md from the code.
docs: $(VENV)/.installed-app
	$(VENV)/bin/python -m ombuds.lifecycle_doc docs/architecture.md

clean:
	rm -rf $(VENV) var .pytest_cache .hypothesis .mypy_cache .ruff_cache .import_linter_cache
