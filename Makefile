# secret-kloset: the two set-up commands are `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test lint imports typecheck pytest screenshots bench constraints clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Stamps: reinstall only when pyproject.toml or constraints.txt changes. pyproject.toml holds
# the ranges users get; constraints.txt the exact versions the tests ran with.
$(VENV)/.installed: pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/pip install --quiet -c constraints.txt -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/pip install --quiet -c constraints.txt -e '.[test]'
	touch $@ $(VENV)/.installed

demo: $(VENV)/.installed
	$(BIN)/secret-kloset demo

lint: $(VENV)/.installed-test imports
	$(BIN)/ruff check core cli tui tests benchmarks
	$(BIN)/ruff format --check core cli tui tests benchmarks

# The architecture contracts ([tool.importlinter] in pyproject.toml): core never imports cli,
# tui or Textual; the engines never import the emulator; core's layers hold (no cycles).
imports: $(VENV)/.installed-test
	$(BIN)/lint-imports

typecheck: $(VENV)/.installed-test
	$(BIN)/mypy

pytest: $(VENV)/.installed-test
	$(BIN)/python -m pytest -q -ra $(PYTEST_ARGS)

test: lint typecheck pytest

screenshots: $(VENV)/.installed-test
	$(BIN)/python -m tui.screenshots screenshots

bench: $(VENV)/.installed-test
	$(BIN)/python benchmarks/client_cpu_bench.py
	$(BIN)/python benchmarks/backup_bench.py
	$(BIN)/python benchmarks/rebackup_floor.py
	$(BIN)/python benchmarks/restore_reads_bench.py
	$(BIN)/python benchmarks/store_bench.py
	$(BIN)/python benchmarks/tree_bench.py
	$(BIN)/python benchmarks/history_bench.py
	$(BIN)/python benchmarks/console_bench.py

# Re-pin constraints.txt: the newest versions pyproject.toml's ranges allow, in a throw-away
# venv (review the diff, run `make test`, commit both).
constraints: | $(BIN)/python
	rm -rf $(VENV)/.constraints
	$(PYTHON) -m venv $(VENV)/.constraints
	$(VENV)/.constraints/bin/pip install --quiet --upgrade pip
	$(VENV)/.constraints/bin/pip install --quiet '.[test]'
	{ head -n 2 constraints.txt; $(VENV)/.constraints/bin/pip freeze --exclude-editable \
		| grep -v -i '^secret-kloset' | LC_ALL=C sort -f; } > constraints.txt.new
	mv constraints.txt.new constraints.txt
	rm -rf $(VENV)/.constraints

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info
