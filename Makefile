# secret-kloset: the two set-up commands are `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test lint typecheck pytest screenshots bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Stamps: reinstall only when pyproject.toml changes.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.installed

demo: $(VENV)/.installed
	$(BIN)/secret-kloset demo

lint: $(VENV)/.installed-test
	$(BIN)/ruff check core cli tui tests benchmarks

typecheck: $(VENV)/.installed-test
	$(BIN)/mypy

pytest: $(VENV)/.installed-test
	$(BIN)/python -m pytest -q -ra $(PYTEST_ARGS)

test: lint typecheck pytest

screenshots: $(VENV)/.installed-test
	$(BIN)/python -m tui.screenshots screenshots

bench: $(VENV)/.installed-test
	$(BIN)/python benchmarks/store_bench.py
	$(BIN)/python benchmarks/backup_bench.py
	$(BIN)/python benchmarks/console_bench.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info
