# Two commands do all the set-up on a fresh machine:
#   make demo   build, train and export the built-in CNN-LSTM example, print its report
#   make test   run the test suite
# Both create .venv and install the pinned dependencies (requirements-dev.txt) on first use.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench clean

$(STAMP): pyproject.toml requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/pack demo

test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP)
	$(BIN)/python -m pytest benches --benchmark-only

clean:
	rm -rf $(VENV) cpp_demo/build .pytest_cache .benchmarks
