# bondsim: make run | make test | make check | make docs | make lint | make bench
#   make check: the fast tier of the tests, for the edit loop (under two minutes on 2 cores)
#   make test:  every test (what CI runs)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev
DOCS_STAMP := $(VENV)/.installed-docs

.PHONY: run test check docs browser lint format bench clean

$(BIN)/python:
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 12) and "bondsim needs Python >= 3.12 (found " + sys.version.split()[0] + ")")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[all]"
	touch $@

$(DEV_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP) $@

$(DOCS_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[docs]"
	touch $(STAMP) $@

run: $(STAMP)
	$(BIN)/bondsim experiment inagaki2016 --out results/inagaki2016 --overwrite

# Every test, on two processes (pytest-xdist) that share one kernel cache: tests/conftest.py compiles
# the array engine's kernels once, before the workers need them. The tests of one xdist_group run
# in the same process (those that share a browser and its servers, or a costly module fixture).
test: $(DEV_STAMP) browser
	$(BIN)/python -m pytest -n 2 --dist loadgroup

# The fast tier, for the edit loop: the core (the model on both engines, parameters, the mechanism
# API, the CLI's one-line errors), without the tests marked slow, browser, cluster or packaging
check: $(DEV_STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadgroup -m "not slow and not browser and not cluster and not packaging"

# The documentation site in docs/_build/html, built afresh from the code (tables, API reference,
# executed notebooks); warnings are errors, internal links and anchors are checked (no network)
docs: $(DOCS_STAMP)
	$(BIN)/python -m sphinx -E -W --keep-going -n -q -b html docs docs/_build/html

# Debian's chromium for the browser tests: installed if this user may, else the tests say they skip
browser:
	@tools/ensure-browser

lint: $(DEV_STAMP)
	$(BIN)/ruff check src tests benchmarks experiments
	$(BIN)/ruff format --check src tests benchmarks experiments

format: $(DEV_STAMP)
	$(BIN)/ruff format src tests benchmarks experiments
	$(BIN)/ruff check --fix src tests benchmarks experiments

bench: $(DEV_STAMP)
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) .pytest_cache docs/_build
