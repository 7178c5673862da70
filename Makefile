# make run: serve on TORNADO_SERVER_PORT (8888) with embedded Redis and MongoDB-compatible servers.
# make test: lint, type-check and run the whole test suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
export PATH_DATA ?= $(CURDIR)/data

.PHONY: install run test lint typecheck pytest clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --editable '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/factsvc serve --embedded

lint: $(STAMP)
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/pytest

test: lint typecheck pytest

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache
