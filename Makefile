# Two commands on a fresh machine with Python >= 3.10 and pip:  make demo  and  make test
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: install demo test test-fast lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

## make demo: generate (or reuse) the demo data, train the default CFM, sample, report
demo: $(STAMP)
	$(BIN)/lhcgen demo --config configs/demo.yaml --workdir demo_output

## make test: the whole test suite (a few minutes on 2 cores)
test: $(STAMP)
	$(BIN)/python -m pytest

## make test-fast: skip the tests marked slow (Pythia runs, CLI end to end)
test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not slow"

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks

## make bench: the benchmarks whose results are committed in benchmarks/results
bench: $(STAMP)
	$(BIN)/python benchmarks/pythia_throughput.py
	$(BIN)/python benchmarks/cfm_sampling.py

clean:
	rm -rf demo_output .pytest_cache
