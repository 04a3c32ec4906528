# Two commands for a fresh machine (see README):
#   make demo   runs Hotline on the embedded defaults
#   make test   runs the whole test suite
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: install demo test lint bench clean

$(BIN)/hotline: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[sip,postgres,dev]'
	touch $(BIN)/hotline

install: $(BIN)/hotline

demo: install
	$(BIN)/hotline config check config/
	$(BIN)/hotline demo

test: install
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q

bench: install
	for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b; done

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
