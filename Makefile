# youthmode: `make serve` to run the API on the embedded defaults, `make test` to check everything.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-dev
RUN    := $(VENV)/.installed

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

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
