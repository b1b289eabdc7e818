# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
GLOBALS_VERSION := 17.14.0
export JUPYTER_PLATFORM_DIRS := 1
export PYDEVD_DISABLE_FILE_VALIDATION := 1

.PHONY: venv demo test lint format sandbox lab bench bench-large precision clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	# the JavaScript runtimes' global names (npm `globals`, MIT), for undefined identifiers
	npm install --silent --no-audit --no-fund --prefix $(VENV)/js globals@$(GLOBALS_VERSION)
	$(BIN)/python bench/gen_runtime_globals.py $(VENV)/js/node_modules/globals
	touch $(STAMP)

venv: $(STAMP)

## demo: start the embedded demo platform, audit it, print the report path and verdict
demo: $(STAMP)
	$(BIN)/readiness demo

## test: the whole suite (real Postgres, emulators over loopback, papermill, Chromium)
test: $(STAMP)
	$(BIN)/ruff check lib tests bench
	$(BIN)/python -m pytest -q -n 2 --dist loadgroup

## bench: collection/analysis figures at the demo size (bench-large: 200k orders)
bench: $(STAMP)
	$(BIN)/python bench/run.py --size demo --notebooks

bench-large: $(STAMP)
	$(BIN)/python bench/run.py --size large --notebooks

## precision: the static audit over public Supabase + Stripe projects (bench/corpus.yaml),
## scored against bench/labels.jsonl; the trees must be exported first (--fetch-help)
precision: $(STAMP)
	$(BIN)/python bench/precision.py

lint: $(STAMP)
	$(BIN)/ruff check lib tests bench

format: $(STAMP)
	$(BIN)/ruff check --fix lib tests bench
	$(BIN)/ruff format lib tests bench

## sandbox: keep the demo platform running for notebooks (params/demo.yaml points at it)
sandbox: $(STAMP)
	$(BIN)/readiness sandbox up

lab: $(STAMP)
	$(BIN)/jupyter lab notebooks/

clean:
	rm -rf $(VENV) .cache .pytest_cache
