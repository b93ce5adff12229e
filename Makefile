# Every target creates or refreshes .venv by itself: a fresh clone needs only Python 3.11+ and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEV_STAMP := $(VENV)/.dev-installed
BENCH_STAMP := $(VENV)/.bench-installed

.PHONY: demo test lint types unit bench clean build-IngestFunction build-SweeperFunction build-NotifierFunction

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(DEV_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@

$(BENCH_STAMP): pyproject.toml $(DEV_STAMP)
	$(BIN)/python -m pip install -q -e '.[dev,bench]'
	touch $@

demo: $(DEV_STAMP)
	$(BIN)/sla-engine demo

test: lint types unit

lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/cfn-lint template.yaml

types: $(DEV_STAMP)
	$(BIN)/mypy sla infra functions cli

unit: $(DEV_STAMP)
	$(BIN)/python -m pytest -n 2 -q

bench: $(BENCH_STAMP)
	$(BIN)/python -m bench

# `sam build` runs these (BuildMethod: makefile) with ARTIFACTS_DIR set: the Lambda package holds the runtime
# dependencies of requirements.txt and the three packages the handlers import, nothing else.
build-IngestFunction build-SweeperFunction build-NotifierFunction:
	$(PYTHON) -m pip install -q -r requirements.txt -t "$(ARTIFACTS_DIR)"
	cp -r sla infra functions "$(ARTIFACTS_DIR)/"

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache .hypothesis
