# make run: serve on TORNADO_SERVER_PORT with embedded Redis and MongoDB-compatible servers.
# make test: lint, type-check and run the whole test suite (installs Chromium first when it is
#   missing: the browser tests in tests/browser drive it).
# make demo: the service on embedded backends and the demo SPA (examples/spa) beside it; prints
#   the page's URL for each session mode (ports: TORNADO_SERVER_PORT=8888, SPA_PORT=8000).
# make docs: regenerate the files derived from declarations (src/factsvc/openapi.json, the
#   README's settings table, .env.example).
# make bench: load-test with wrk and rewrite BENCHMARKS.md (options: BENCH_ARGS="--help").
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
BENCH_STAMP := $(VENV)/.bench-installed-stamp
BENCH_ARGS ?=
TORNADO_SERVER_PORT ?= 8888
SPA_PORT ?= 8000
export PATH_DATA ?= $(CURDIR)/data

.PHONY: install run demo test lint typecheck pytest chromium bench docs clean

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

demo: $(STAMP)
	$(BIN)/python examples/spa/demo.py --api-port $(TORNADO_SERVER_PORT) --spa-port $(SPA_PORT)

lint: $(STAMP)
	$(BIN)/ruff check src tests bench examples
	$(BIN)/ruff format --check src tests bench examples

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP) chromium
	$(BIN)/pytest

# The browser tests drive Debian's Chromium (Playwright never downloads a browser here): on
# Debian or Ubuntu as root it is installed with apt-get when missing, elsewhere this says how.
# Only the outcome counts: an update that fails for an unrelated source is not an error.
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "chromium not found: installing it with apt-get"; \
	    DEBIAN_FRONTEND=noninteractive apt-get update || true; \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y chromium || true; \
	  fi; \
	  command -v chromium >/dev/null 2>&1 || { \
	    echo "Chromium is missing: the browser tests (tests/browser) need 'chromium' on PATH."; \
	    echo "Install it with your package manager (Debian/Ubuntu, as root: apt-get install chromium),"; \
	    echo "then run make test again."; \
	    exit 1; }; }

test: lint typecheck pytest

bench: $(BENCH_STAMP)
	$(BIN)/python bench/run.py $(BENCH_ARGS)

# Files generated from declarations; tests fail while a committed one differs.
docs: $(STAMP)
	$(BIN)/python -m factsvc.api_schema
	$(BIN)/python -m factsvc.config.docs

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache
