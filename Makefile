# youthmode: `make serve` to run the API on the embedded defaults, `make test` to check everything.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-dev
RUN    := $(VENV)/.installed
BENCH  := $(VENV)/.installed-bench

.PHONY: test lint typecheck unit package serve bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# The compiled stages (youthmode/*.c) are built by the install: an edited one is rebuilt here
# (youthmode/compiled.py also refuses a build older than its source).
BUILT  := pyproject.toml setup.py $(wildcard youthmode/*.c youthmode/*.h)

$(STAMP): $(BUILT) | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

$(RUN): $(BUILT) | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $(RUN)

$(BENCH): $(BUILT) | $(BIN)/python
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

# The wheel and the sdist built, installed into a fresh virtualenv and run from an empty folder
# (tests/test_package.py, about 25 s; part of `unit` too). For CI jobs that check the package alone.
package: $(STAMP)
	$(BIN)/pytest -m wheel

# Library decisions/s (engine vs cedarpy vs a hand-written floor, after checking they agree),
# HTTP under `youthmode serve` vs bare Flask (wrk on loopback, c=8, single and batch), the
# server comparison (youthmode and bare Flask under `youthmode serve` and Granian at 8/64/256
# connections, slow clients), ledger-backed decisions on SQLite and Redis, load time, memory.
# About 6 minutes; results in var/bench/results.json. Method and figures: docs/performance.md.
# Before/after in the same run: make bench BENCH_ARGS="--baseline <commit>"; other flags:
# benchmarks/run.py --help. Exits 1 when the implementations disagree, 2 on a wrong HTTP answer.
bench: $(BENCH)
	@command -v wrk >/dev/null || { echo "make bench needs wrk: apt-get install -y wrk" >&2; exit 1; }
	$(BIN)/python benchmarks/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
