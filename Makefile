# The README's commands. `make demo` and `make test` set everything up on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
BENCH  := .venv-bench
STAMP  := $(VENV)/.installed

# Real MNIST / Fashion-MNIST for tests and benchmarks, when the shared folder is there.
ifneq ($(wildcard ../shared/data),)
export TRACEGRAD_DATA ?= $(abspath ../shared/data)
endif

.PHONY: all venv demo test lint docs bench notebooks mutation clean

all: test

# The library alone (what the demo needs), then the test tools on top of it.
LIBRARY := $(VENV)/.library-installed

$(LIBRARY): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $(LIBRARY)

$(STAMP): $(LIBRARY)
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

demo: $(LIBRARY)
	$(BIN)/tracegrad demo --out tracegrad-demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# pytest builds the docs too (tests/test_docs.py), and runs the Python blocks of every page.
test: lint
	$(BIN)/python -m pytest

# The documentation site, warnings as errors; open docs/_build/html/index.html.
docs: $(STAMP)
	$(BIN)/python -m sphinx -W --keep-going -b html docs docs/_build/html

$(BENCH)/.installed: pyproject.toml
	$(PYTHON) -m venv $(BENCH)
	$(BENCH)/bin/python -m pip install --quiet --upgrade pip
	$(BENCH)/bin/python -m pip install --quiet -e . micrograd==0.1.0
	$(BENCH)/bin/python -m pip install --quiet torch==2.13.0 \
		|| echo "PyTorch is not installed: the benchmarks leave its column empty"
	touch $(BENCH)/.installed

# Run both notebooks top to bottom in their full setting and store them with their outputs
# (numbers and pictures), so that they read well on a code host; cells tagged
# nondeterministic (wall times) are stored without theirs. tests/test_notebooks.py runs
# them again and compares.
notebooks: $(STAMP)
	$(BIN)/python notebooks/store.py notebooks/*.ipynb

bench: $(BENCH)/.installed
	$(BENCH)/bin/python benchmarks/scalar.py
	$(BENCH)/bin/python benchmarks/tensor_mlp.py
	$(BENCH)/bin/python benchmarks/mnist.py
	$(BENCH)/bin/python benchmarks/lesson.py
	$(BENCH)/bin/python benchmarks/threads.py

# Mutation testing of the numerical core with cosmic-ray (mutation/run.py): too long to
# be part of `make test` (docs/mutation.md has each file's time). Pass
# FILES="autograd/rules.py" for a subset; `python -m mutation.run --recheck
# mutation-report/survivors.txt` reruns a run's survivors against new tests, and
# `python -m mutation.run --check` matches mutation/equivalent.txt against today's code
# without running any test (3 minutes).
$(VENV)/.mutation-installed: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,mutation]'
	touch $@

mutation: $(VENV)/.mutation-installed
	$(BIN)/python -m mutation.run $(if $(FILES),--files $(FILES))

clean:
	rm -rf $(VENV) $(BENCH) build docs/_build *.egg-info .pytest_cache .ruff_cache .hypothesis \
		tracegrad-demo mutation-report
