# youthmode: `make serve` to run the API on the embedded defaults, `make test` to check everything.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-dev
RUN    := $(VENV)/.installed
BENCH  := $(VENV)/.installed-bench

.PHONY: test lint typecheck unit serve bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

$(RUN): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $(RUN)

$(BENCH): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	touch $(BENCH)

# Serves configs/ on 127.0.0.1:8080 with the embedded defaults (development mode: no API keys).
serve: $(RUN)
	$(BIN)/youthmode serve

test: $(STAMP) lint typecheck unit

lint: $(STAMP)
	$(BIN)/ruff check youthmode tests
	$(BIN)/ruff format --check youthmode

typecheck: $(STAMP)
	$(BIN)/mypy --strict youthmode

unit: $(STAMP)
	$(BIN)/pytest

# Library decisions/s (engine vs cedarpy vs a hand-written floor, after checking they agree),
# HTTP under gunicorn vs bare Flask (wrk on loopback), load time, worker memory. About a
# minute; results in var/bench/results.json. Method and figures: docs/performance.md.
# Extra flags: make bench BENCH_ARGS="--no-http" (see benchmarks/run.py --help).
bench: $(BENCH)
	@command -v wrk >/dev/null || { echo "make bench needs wrk: apt-get install -y wrk" >&2; exit 1; }
	$(BIN)/python benchmarks/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
