# Two commands on a fresh machine: `make demo` runs the node, `make test` runs every test.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/pnrguard demo

test: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy src
	$(BIN)/pytest -n 2 -q

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy src

bench: $(STAMP)
	$(BIN)/python bench/parse.py
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/crypto.py
	$(BIN)/python bench/screen.py
	$(BIN)/python bench/audit.py
	$(BIN)/python bench/retention.py
	$(BIN)/python bench/gateway.py

clean:
	rm -rf $(VENV) var .pytest_cache .hypothesis
