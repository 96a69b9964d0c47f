# The two commands a new user needs: `make run` and `make test`. Each sets up .venv on first use.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
# A CPU build of torch; override e.g. `make TORCH_SPEC=torch run` for a CUDA build.
TORCH_SPEC ?= torch==2.13.0
RUN_CONFIG ?= search_spaces/hyperneat_visual.yaml
PYTEST_ARGS ?=

.PHONY: setup run lint test test-all bench reports clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check "$(TORCH_SPEC)"
	$(PY) -m pip install -q --disable-pip-version-check -e ".[dev]"
	@touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/evohyper run $(RUN_CONFIG)

lint: $(STAMP)
	$(VENV)/bin/ruff check .

test: $(STAMP) lint
	$(PY) -m pytest -m "not slow and not gpu" -q -p no:cacheprovider --timeout=600 $(PYTEST_ARGS)

test-all: $(STAMP)
	$(PY) -m pytest -m "not gpu" -q -p no:cacheprovider --timeout=1800 $(PYTEST_ARGS)

bench: $(STAMP)
	$(PY) -m benchmarks.run_all

reports: $(STAMP)
	$(PY) -m experiments.make_reports

clean:
	rm -rf $(VENV) runs .pytest_cache
