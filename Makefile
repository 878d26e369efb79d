# mutualaid: the two commands a newcomer needs.
#
#   make demo   set everything up in .venv and run a truckers' pool end to end
#   make test   set everything up in .venv and run the whole test suite
#
# PostgreSQL tests run when MUTUALAID_TEST_POSTGRES_URL is set, e.g.
#   MUTUALAID_TEST_POSTGRES_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test make test

VENV ?= .venv
BIN := $(VENV)/bin
# The first Python 3.11+ on PATH (override with PYTHON=/path/to/python3.x).
PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null \
	&& { echo $$p; break; }; done)
STAMP := $(VENV)/.installed

.PHONY: demo test install clean

demo: $(STAMP)
	$(BIN)/mutualaid demo

test: $(STAMP)
	$(BIN)/python -m pytest

install: $(STAMP)

# The core with its test extras, then the first-party plugins installed the way a user installs any
# plugin: 'mutualaid install' runs pip in mutualaid's own environment.
$(STAMP): pyproject.toml plugins/truckers/pyproject.toml plugins/disease_cohorts/pyproject.toml
	@test -n "$(PYTHON)" || { echo "mutualaid needs Python 3.11 or newer on PATH (or PYTHON=...)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	$(BIN)/mutualaid install --quiet -e ./plugins/truckers
	$(BIN)/mutualaid install --quiet -e ./plugins/disease_cohorts
	@touch $(STAMP)

clean:
	rm -rf $(VENV) demo-output .pytest_cache .hypothesis
