# make run: serve on TORNADO_SERVER_PORT with embedded Redis and MongoDB-compatible servers.
# make test: lint, type-check and run the whole test suite.
# make docs: regenerate the files derived from declarations (src/factsvc/openapi.json, the
#   README's settings table, .env.example).
# make bench: load-test with wrk and rewrite BENCHMARKS.md (options: BENCH_ARGS="--help").
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
BENCH_STAMP := $(VENV)/.bench-installed-stamp
BENCH_ARGS ?=
export PATH_DATA ?= $(CURDIR)/data

.PHONY: install run test lint typecheck pytest bench docs clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --editable '.[test]'
	touch $(STAMP)

$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet --editable '.[test,bench]'
	touch $(BENCH_STAMP)

run: $(STAMP)
	$(BIN)/factsvc serve --embedded

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/pytest

test: lint typecheck pytest

bench: $(BENCH_STAMP)
	$(BIN)/python bench/run.py $(BENCH_ARGS)

# Files generated from declarations; tests fail while a committed one differs.
docs: $(STAMP)
	$(BIN)/python -m factsvc.api_schema
	$(BIN)/python -m factsvc.config.docs

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache
