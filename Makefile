# make serve: install and run the server on ./blobstream-data at http://127.0.0.1:8080
# make test:  install everything the tests need, start real services, run lint, types, tests
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
TEST_INSTALLED := $(VENV)/.test-installed

.PHONY: serve install test test-deps lint typecheck pytest clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(INSTALLED): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

install: $(INSTALLED)

serve: install
	$(BIN)/blobstream serve

$(TEST_INSTALLED): pyproject.toml $(INSTALLED)
	$(BIN)/pip install -q -e '.[test]'
	touch $@

test-deps: $(TEST_INSTALLED)
	bash scripts/system-deps.sh

lint: test-deps
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: test-deps
	$(BIN)/mypy

pytest: test-deps
	$(BIN)/python -m pytest

test: lint typecheck pytest

# make bench: install nginx, wrk and the peers when missing, run bench/ and write docs/BENCHMARKS.md
.PHONY: bench
bench: install
	bash bench/setup.sh
	bench/.venv/bin/python -m bench.run

clean:
	rm -rf $(VENV) build dist src/*.egg-info
