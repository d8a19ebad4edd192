# The two README commands: `make demo` and `make test`. Both bootstrap .venv from the lock.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.ccreco-installed
# torch==2.13.0+cpu lies on local disk; pip finds it there.
FIND_LINKS := $(if $(wildcard /opt/wheels),--find-links /opt/wheels,)
export CCRECO_NO_PROGRESS ?=
export MPLBACKEND := Agg

.PHONY: demo test lint bench venv lock clean

venv: $(STAMP)

$(STAMP): requirements.lock setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check $(FIND_LINKS) -r requirements.lock
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	$(BIN)/pip check
	touch $(STAMP)

demo: $(STAMP)
	PATH="$(abspath $(BIN)):$$PATH" bash examples/demo.sh

# Lint (ruff: pyproject.toml's rule selection) and type-check (mypy: its `files`, strict) before
# the tests; any finding fails the target.
test: $(STAMP) lint
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

bench: $(STAMP)
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/python benchmarks/run.py

# Regenerate the lock from requirements/top.in in a scratch venv (needs the registries).
lock:
	rm -rf /tmp/ccreco-lock && $(PYTHON) -m venv /tmp/ccreco-lock
	/tmp/ccreco-lock/bin/pip install --quiet $(FIND_LINKS) -r requirements/top.in
	{ echo "# Exact versions for the README commands (make demo / make test). Regenerate with 'make lock'."; \
	  /tmp/ccreco-lock/bin/pip freeze; } > requirements.lock

clean:
	rm -rf $(VENV) build *.egg-info
