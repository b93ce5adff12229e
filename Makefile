# Every target creates or refreshes .venv by itself: a fresh clone needs only Python 3.11+ and make.
PYTHON ?= python3
# This Makefile's directory: `sam build` runs the build-<Function> targets from a scratch directory.
ROOT := $(patsubst %/,%,$(dir $(abspath $(lastword $(MAKEFILE_LIST)))))
VENV := .venv
BIN := $(VENV)/bin
DEV_STAMP := $(VENV)/.dev-installed
BENCH_STAMP := $(VENV)/.bench-installed

.PHONY: demo test lint types unit browser bench clean build

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
	$(BIN)/mypy sla infra functions local cli

unit: $(DEV_STAMP) browser
	$(BIN)/python -m pytest -n 2 -q

# tests/test_report_html.py (the HTML report) and tests/test_board_browser.py (the live board) open pages in
# headless Chromium: Debian's package, installed here when it is missing and we may (CI runs as root on a clean
# machine). Without it those tests fail, saying so.
browser:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
		{ [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && apt-get update -qq && \
		  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } || \
		echo "chromium is not installed (apt-get install -y chromium): the browser tests will fail"

bench: $(BENCH_STAMP)
	$(BIN)/python -m bench

# The Lambda packages, one per function of template.yaml, in .aws-sam/build: `sam build` when it is installed
# (it also writes the built template `sam deploy` reads), else the same build script without it.
build:
	@if command -v sam >/dev/null 2>&1; then \
		sam build --parallel; \
	else \
		for function in $$($(PYTHON) scripts/build_function.py --list); do \
			rm -rf ".aws-sam/build/$$function" && \
			$(PYTHON) scripts/build_function.py "$$function" ".aws-sam/build/$$function" || exit 1; \
		done; \
	fi

# `sam build` runs build-<Function> (Metadata BuildMethod: makefile, ContextPath: this directory) with
# ARTIFACTS_DIR set. scripts/build_function.py installs requirements.txt for the template's Runtime and
# Architectures and copies sla/, infra/ and functions/ without the local harness: nothing else.
build-%:
	$(if $(ARTIFACTS_DIR),,$(error ARTIFACTS_DIR is not set: run `make build` or `sam build`))
	$(PYTHON) "$(ROOT)/scripts/build_function.py" "$*" "$(ARTIFACTS_DIR)"

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache .hypothesis
