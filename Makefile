# symgrad: `make generate` sets everything up and renders generated/; `make test` proves it.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: generate test test-oldest lint bench example check clean

# The virtual environment is (re)built whenever the pinned requirements change.
$(STAMP): requirements-dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $(STAMP)

generate: $(STAMP)
	$(PY) -m symgrad.codegen

test: $(STAMP)
	$(PY) -m pytest

# The suite on the oldest NumPy pyproject.toml allows, in a venv of its own.
OLDEST_NUMPY := numpy==2.1.3
test-oldest:
	$(PYTHON) -m venv .venv-oldest
	.venv-oldest/bin/python -m pip install --quiet --disable-pip-version-check $(OLDEST_NUMPY) \
		$$(grep -v '^numpy' requirements-dev.txt | grep -v '^#')
	.venv-oldest/bin/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	.venv-oldest/bin/python -m pytest

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check symgrad tests bench examples

bench: $(STAMP)
	$(PY) bench/run.py

# A real training run: a LeNet-style CNN on the bundled 8x8 digits (examples/README.md);
# then ten ops defined as a textbook writes them, trained with and differentiated twice.
example: $(STAMP)
	$(PY) examples/digits.py
	$(PY) examples/define_ops.py

check: lint test

clean:
	rm -rf $(VENV) .venv-oldest .pytest_cache .ruff_cache .hypothesis
