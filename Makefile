# Two commands do all the set-up on a fresh machine:
#   make demo   build, train and export the built-in CNN-LSTM example, print its report
#   make test   run the test suite
# Both create .venv and install the pinned dependencies (requirements-dev.txt) on first use.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench cpp clean

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

# The C++ loader, cpp_demo/build/pack_infer (`pack cpp ARTIFACT_DIR` builds it too, then runs it).
cpp: $(STAMP)
	$(BIN)/python -c 'from packager.cpp import build_demo; print(build_demo(log=print))'

clean:
	rm -rf $(VENV) cpp_demo/build .pytest_cache .benchmarks
