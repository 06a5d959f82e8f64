# Each target installs what is missing first (Debian packages, virtual environment).
VENV := .venv
WORKSPACE ?= workspace

.PHONY: setup demo test bench lint
setup:
	@bash scripts/setup.sh

demo: setup
	$(VENV)/bin/pipeline --workspace $(WORKSPACE) demo

test: setup
	$(VENV)/bin/python -m pytest -q

bench: setup
	$(VENV)/bin/python bench/bench_pipeline.py

lint: setup
	$(VENV)/bin/ruff check pipeline tests bench
