# The two commands a newcomer needs: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PORT ?= 8000
# An admin connection to a PostgreSQL server; the tests create and drop their own databases.
OMBUDS_TEST_DATABASE_URL ?= postgresql://postgres@127.0.0.1:5432/postgres
export OMBUDS_TEST_DATABASE_URL

.PHONY: demo test install browser bench docs clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed

# The browser tests drive Debian's Chromium (never `playwright install`).
browser:
	@command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium)

## Seed a small marketplace on SQLite with a manual clock and serve it on $(PORT).
demo: install
	$(VENV)/bin/ombuds demo --port $(PORT)

## Every test, on SQLite and PostgreSQL.
test: install browser
	$(VENV)/bin/pytest

## Benchmarks beside their baselines (needs PostgreSQL and pgbench).
bench: install
	@command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	$(VENV)/bin/python -m bench.run_all

## Regenerate the lifecycle table in docs/architecture.md from the code.
docs: install
	$(VENV)/bin/python -m ombuds.lifecycle_doc docs/architecture.md

clean:
	rm -rf $(VENV) var .pytest_cache .hypothesis
