# Each target installs what is missing first (Debian packages, virtual environment).
VENV := .venv
WORKSPACE ?= workspace

.PHONY: setup demo test bench lint typecheck
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

# mypy over the package, then the template build scripts from their folder (they import each
# other as scripts, not as pipeline modules).
typecheck: setup
	$(VENV)/bin/python -m mypy pipeline
	cd pipeline/templates && ../../$(VENV)/bin/python -m mypy --no-namespace-packages \
		make_approval_form.py make_monthly_report.py
