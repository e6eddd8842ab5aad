# Two entry points on a fresh machine: `make demo` and `make test`. Both create the
# environment (.venv) themselves. torch is pinned to the CPU build first: a plain
# `torch` requirement would pull a multi-GB CUDA build.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
TORCH_PIN ?= torch==2.13.0

.PHONY: env test test-slow demo bench clean-env

$(BIN)/.installed: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q $(TORCH_PIN)
	$(BIN)/pip install -q -e ".[dev]"
	touch $@

env: $(BIN)/.installed

test: env
	$(BIN)/python -m pytest

test-slow: env
	$(BIN)/python -m pytest -m slow

demo: env
	$(BIN)/vlm3 demo

bench: env
	$(BIN)/python benchmarks/run_all.py --out benchmarks/results

clean-env:
	rm -rf $(VENV)
