# The two set-up commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The other Pythons the suite must pass on, as pyenv installs them on these machines.
PYENV_ROOT ?= $(HOME)/.pyenv
OTHER_PYTHONS ?= 3.12 3.13
LINTED := cablesearch tests benchmarks

.PHONY: run test test-fast lint test-other-pythons install chromium

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	touch $(STAMP)

install: $(STAMP)

## Index the bundled sample cables and serve the web UI on http://127.0.0.1:8080 (Ctrl-C stops).
run: install
	$(BIN)/cablesearch serve --host 127.0.0.1 --port 8080 --watch samples

## Install everything the tests need (Chromium included), lint, type-check and run the whole
## suite on Python 3.11, then on 3.12 and 3.13.
test: install chromium lint
	$(BIN)/python -m pytest
	$(MAKE) --no-print-directory test-other-pythons

## ruff (lint and format) and mypy: CI fails on either.
lint: install
	$(BIN)/ruff check $(LINTED)
	$(BIN)/ruff format --check $(LINTED)
	$(BIN)/mypy cablesearch

## The quick subset while working: no browser, no test marked slow.
test-fast: install
	$(BIN)/python -m pytest -m "not slow and not browser" -q

## The whole suite once per other Python (each in .venv-3.X, made on first use).
test-other-pythons:
	@set -e; for v in $(OTHER_PYTHONS); do \
	  py=$$(ls -d $(PYENV_ROOT)/versions/$$v.*/bin/python3 2>/dev/null | sort -V | tail -1); \
	  if [ -z "$$py" ]; then echo "Python $$v is not installed under $(PYENV_ROOT): install it (pyenv install $$v) to run the suite on it"; exit 1; fi; \
	  venv=.venv-$$v; \
	  if [ ! -f $$venv/.installed ] || [ pyproject.toml -nt $$venv/.installed ]; then \
	    $$py -m venv $$venv && $$venv/bin/python -m pip install --quiet --upgrade pip \
	    && $$venv/bin/python -m pip install --quiet -e '.[test,bench]' && touch $$venv/.installed; \
	  fi; \
	  echo "== the suite on $$($$venv/bin/python --version)"; \
	  $$venv/bin/python -m pytest -q -p no:cacheprovider; \
	done

chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "Installing Debian's chromium for the browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }
