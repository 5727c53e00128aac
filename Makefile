# make serve: install and run the server on ./blobstream-data at http://127.0.0.1:8080 (S3 API on :9000)
# make test:  install everything the tests need, start real services, run lint, types, tests
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
TEST_INSTALLED := $(VENV)/.test-installed

.PHONY: web-bundle serve install test test-deps tests-js lint typecheck docs pytest clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(INSTALLED): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[all]'
	touch $@

# The web page's tus-js-client bundle, built from web/ (npm ci only when the lock changed).
WEB_BUNDLE := src/blobstream/web/static/vendor/tus.js

web/node_modules/.package-lock.json: web/package-lock.json
	command -v npm >/dev/null || bash scripts/system-deps.sh
	npm ci --prefix web --no-audit --no-fund

$(WEB_BUNDLE): web/node_modules/.package-lock.json web/build.mjs
	npm run --silent --prefix web build

web-bundle: $(WEB_BUNDLE)

install: $(INSTALLED) $(WEB_BUNDLE)

serve: install
	$(BIN)/blobstream serve --s3-port 9000

$(TEST_INSTALLED): pyproject.toml $(INSTALLED)
	$(BIN)/pip install -q -e '.[test,docs]'
	touch $@

# tus-js-client for tests/tus, pinned by tests/js/package-lock.json (node_modules is not committed)
tests-js:
	bash scripts/system-deps.sh
	npm ci --no-audit --no-fund --prefix tests/js

test-deps: $(TEST_INSTALLED) $(WEB_BUNDLE) tests-js
	bash scripts/system-deps.sh

lint: test-deps
	$(BIN)/ruff check src tests bench examples
	$(BIN)/ruff format --check src tests bench examples

typecheck: test-deps
	$(BIN)/mypy
	$(BIN)/mypy --strict examples

# The docs site (mkdocs.yml, docs/): --strict makes every warning (a broken link or anchor, a
# docstring the API reference cannot read) fail the build; not --quiet, which hides warnings
# from the strict count. The site goes to build/site (ignored).
docs: test-deps
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir build/site

pytest: test-deps
	$(BIN)/python -m pytest

test: lint typecheck docs pytest

# make bench: install nginx, wrk and the peers when missing, run bench/ and write docs/BENCHMARKS.md
.PHONY: bench
bench: install
	bash bench/setup.sh
	bench/.venv/bin/python -m bench.run

# make stress: crash loop (kill -9) and mixed load on every backend, then an integrity audit
# (loopback only, about STRESS_MINUTES minutes; stops by itself; see docs/RELIABILITY.md)
STRESS_MINUTES ?= 4
.PHONY: stress
stress: test-deps
	$(BIN)/python -m stress.run --minutes $(STRESS_MINUTES)

# make bench-backends: blobstream on PostgreSQL and S3 (moto) against psql and boto3, same run
.PHONY: bench-backends
bench-backends: test-deps
	$(BIN)/python -m bench.backends

clean:
	rm -rf $(VENV) build dist src/*.egg-info
