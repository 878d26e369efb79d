# mutualaid: the two commands a newcomer needs.
#
#   make demo   set everything up in .venv and run a truckers' pool end to end
#   make test   set everything up in .venv and run the whole test suite (on every core)
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
# The suite runs on every core (pytest-xdist); worksteal lets an idle worker take tests queued for a
# busy one, so a long test near the end does not leave a core idle. PYTEST_ARGS=-n0 runs it in one
# process (for --pdb or -s); extra arguments go there too, e.g. PYTEST_ARGS="-n auto -x".
PYTEST_ARGS ?= -n auto --dist worksteal

.PHONY: demo test install clean

demo: $(STAMP)
	$(BIN)/mutualaid demo

# Bytecode caches are written (__pycache__/ is ignored by git) even where PYTHONDONTWRITEBYTECODE is
# set: without them each pytest process rewrites the assertions of ~200 modules again (the tests, and
# the core and hypothesis as pytest plugins), about 2.5 s a process, and every mutualaid subprocess
# the tests start compiles the core again.
test: $(STAMP)
	env -u PYTHONDONTWRITEBYTECODE $(BIN)/python -m pytest $(PYTEST_ARGS)

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
