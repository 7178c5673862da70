# make run: serve on TORNADO_SERVER_PORT with embedded Redis and MongoDB-compatible servers,
#   and an SMTP server that keeps each mail as an .eml file in PATH_DATA/mail (path logged).
# make test: lint, type-check and run the whole test suite (installs Debian's Chromium first when
#   none starts: the browser tests in tests/browser drive it; CHROMIUM=<path> names another).
# make demo: the service on embedded backends and the demo SPA (examples/spa) beside it; prints
#   the page's URL for each session mode (ports: TORNADO_SERVER_PORT=8888, SPA_PORT=8000).
# make docs: regenerate the files derived from declarations (src/factsvc/openapi.json, the
#   README's settings table, .env.example).
# make bench: load-test with wrk and rewrite BENCHMARKS.md (options: BENCH_ARGS="--help").
# make cluster: nginx on TORNADO_SERVER_PORT in front of two instances of the service (two
#   processes each) sharing a Redis Cluster for state (three masters with a replica each,
#   REDIS_TOPOLOGY=cluster), a Redis for the cache and a MongoDB-compatible server, all on
#   loopback and under PATH_DATA; prints what runs where; Ctrl-C stops every process it started.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
BENCH_STAMP := $(VENV)/.bench-installed-stamp
BENCH_ARGS ?=
TORNADO_SERVER_PORT ?= 8888
SPA_PORT ?= 8000
export PATH_DATA ?= $(CURDIR)/data

.PHONY: install run demo cluster test lint typecheck pytest chromium test-tools bench docs clean

# Debian's packages of the named commands (package and command alike), installed with apt-get
# when one is missing and we run as root where apt-get exists; then each must be there.
# nginx may sit in an sbin directory that a user's PATH lacks.
SBIN_PATH := $$PATH:/usr/sbin:/usr/local/sbin
define debian_tools
missing=""; for tool in $(1); do \
  PATH="$(SBIN_PATH)" command -v $$tool >/dev/null 2>&1 || missing="$$missing $$tool"; \
done; \
if [ -n "$$missing" ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
  echo "missing:$$missing; installing Debian's packages with apt-get"; \
  DEBIAN_FRONTEND=noninteractive apt-get update || true; \
  DEBIAN_FRONTEND=noninteractive apt-get install -y $$missing || true; \
fi; \
for tool in $(1); do \
  PATH="$(SBIN_PATH)" command -v $$tool >/dev/null 2>&1 || { \
    echo "$$tool is missing: install it (Debian/Ubuntu: apt-get install $$tool)"; exit 1; }; \
done
endef

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

# Tests that kill or pause Redis nodes run in a session of their own: redis-py loses track of
# some connections under them, which the garbage collector closes (and warns about) whenever
# it runs, perhaps during another test (tests/support/lost_connections.py).
pytest: $(STAMP) chromium test-tools
	$(BIN)/pytest -m 'not redis_node_failure'
	$(BIN)/pytest -m redis_node_failure

# tests/nginx runs a real nginx in front of two instances, and wrk through it during a rolling
# restart; tests/test_deployment_files.py validates docker-compose.yml with docker-compose
# (1.29 checks the schema without a Docker engine) and runs the mongo healthcheck's script in
# Node.js (nodejs) with mongosh's shell objects stood in for.
test-tools:
	@$(call debian_tools,nginx wrk docker-compose nodejs)

cluster: $(STAMP)
	@$(call debian_tools,nginx)
	$(BIN)/python -m factsvc.cluster

# The browser tests drive the Chromium that examples/spa/chromium.py finds: $$CHROMIUM (a path or a
# name on PATH) or `chromium` on PATH, which must start; Playwright never downloads one. When none
# does, Debian's package is installed with apt-get (as root, CHROMIUM unset). Not on Ubuntu: its
# chromium package is only a shim that starts the snap, and snaps do not run in containers;
# chromium.py then says what to install instead. Only the outcome counts: an update that fails
# for an unrelated source is not an error.
chromium: $(STAMP)
	@$(BIN)/python examples/spa/chromium.py --quiet || { \
	  if [ "$$(id -u)" = 0 ] && [ -z "$${CHROMIUM:-}" ] && command -v apt-get >/dev/null 2>&1 \
	      && ! grep -Eqs '^ID="?ubuntu"?$$' /etc/os-release; then \
	    echo "no Chromium that starts: installing Debian's chromium with apt-get"; \
	    DEBIAN_FRONTEND=noninteractive apt-get update || true; \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y chromium || true; \
	  fi; \
	  $(BIN)/python examples/spa/chromium.py; }

test: lint typecheck pytest

bench: $(BENCH_STAMP)
	@$(call debian_tools,nginx)
	$(BIN)/python bench/run.py $(BENCH_ARGS)

# Files generated from declarations; tests fail while a committed one differs.
docs: $(STAMP)
	$(BIN)/python -m factsvc.api_schema
	$(BIN)/python -m factsvc.config.docs

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache
