# Two commands on a fresh machine: `make demo` runs the node, `make test` runs every test.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo demo-peer test lint bench clean compile compile-clean

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
	$(BIN)/python bench/audit_witness.py
	$(BIN)/python bench/search.py
	$(BIN)/python bench/links.py
	$(BIN)/python bench/rights_lookup.py
	$(BIN)/python bench/exchange_inbox.py

# Optional: the readers and the matcher compiled with mypyc (docs/performance.md). Not part of demo or test:
# the pure-Python modules are the build every machine has, so they are what the suite runs.
compile: $(STAMP)
	$(BIN)/python tools/compile_formats.py || echo "compile skipped: pure-Python readers and matcher in use"

compile-clean:
	rm -rf src/*__mypyc*.so src/pnrguard/formats/*.so src/pnrguard/formats/*/*.so src/pnrguard/domain/*.so src/pnrguard/screening/*.so src/build

clean: compile-clean
	rm -rf $(VENV) var .pytest_cache .hypothesis

demo-peer: $(STAMP)
	$(BIN)/pnrguard demo-peer
