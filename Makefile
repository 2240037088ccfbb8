# stswidgets — the two commands of the README, and a few more.
#   make demo   set up .venv, run the notebook series on the embedded simulated grid
#   make test   set up .venv, run the whole test suite (pytest + nbval + browser tests); CI runs it
#   make check  the fast tier for development (under 3 min on 2 cores): ruff, then the unit tests
#               that are not marked slow or browser and no notebooks (nbval), stopping at the first failure
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.stswidgets-installed
PYTEST_ARGS ?=
# pytest-xdist workers of `make test` (one per core of the 2-core target machine; 0: one process)
TEST_WORKERS ?= 2

.PHONY: install demo test check lab bench lint clean browser-deps

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# torch first: the pinned CPU wheel; an unpinned torch would pull a multi-GB CUDA build.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install torch==2.13.0
	$(BIN)/python -m pip install -e ".[test,dev]"
	touch $@

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/stswidgets run --demo --out build/notebooks --force
	@echo "Executed notebooks and report: $(CURDIR)/build/notebooks"

# Debian's chromium for the real-browser tests (Playwright cannot download a browser here).
browser-deps:
	@if ! command -v chromium >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else \
	    echo "chromium not found and cannot apt-get install it: browser tests will be skipped"; \
	  fi; \
	fi

# Unit tests, the notebooks under nbval (parameterised copies with the small TEST profile),
# and the browser tests, in one pytest run so that one summary line counts them all; on
# $(TEST_WORKERS) pytest-xdist workers, each test file (its module fixtures, a notebook's cells)
# on one worker (--dist loadfile; loadgroup's xdist_group marks do nothing with pytest 9.2).
test: $(STAMP) browser-deps
	rm -rf build/nbval
	$(BIN)/python -m stswidgets.series prepare build/nbval --profile test
	$(BIN)/python -m pytest tests build/nbval --nbval-lax -n $(TEST_WORKERS) --dist loadfile \
	  --durations=30 $(PYTEST_ARGS)

# Tests over ~5 s carry @pytest.mark.slow; `make test` runs them all, `make check` none.
check: lint
	$(BIN)/python -m pytest tests -m "not slow and not browser" -x -q $(PYTEST_ARGS)

lab: $(STAMP)
	$(BIN)/jupyter lab notebooks/

bench: $(STAMP)
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b; done

lint: $(STAMP)
	$(BIN)/ruff check stswidgets tests benchmarks notebooks
	$(BIN)/ruff format --check stswidgets tests benchmarks notebooks

clean:
	rm -rf build .pytest_cache
