# Human Touch — see README.md. Needs only python3 (3.11+) on the machine.
#   make run    set up, migrate, seed the demo world, start web server + django-q2 cluster
#   make test   the whole test suite (PostgreSQL when available, else SQLite)
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# Set on the command line (make run PORT=8001), not taken from the environment, where HOST
# often holds the machine's name.
HOST := 127.0.0.1
PORT := 8000

.PHONY: install run test lint format clean

# Reinstalls whenever pyproject.toml changes. The stamp is written only after a complete install,
# so an interrupted one is simply redone.
$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Human Touch needs Python 3.11 or newer (PYTHON=$(PYTHON))")'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check ".[dev]"
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	DEBUG=1 $(PY) manage.py migrate --noinput
	DEBUG=1 $(PY) manage.py seed_demo
	DEBUG=1 $(PY) manage.py setup_schedules
	DEBUG=1 HOST=$(HOST) PORT=$(PORT) bin/run

# PostgreSQL when DATABASE_URL is set or one answers on 127.0.0.1:5432, else SQLite.
# Extra pytest arguments: make test PYTEST_ARGS="tests/tenants -k policy"
test: $(STAMP)
	@DATABASE_URL="$${DATABASE_URL:-$$(bin/detect-postgres)}" ; \
	if [ -n "$$DATABASE_URL" ]; then echo "make test: PostgreSQL ($$DATABASE_URL)"; \
	else echo "make test: SQLite (no PostgreSQL found; tests marked postgres are skipped)"; fi ; \
	if [ ! -x "$${HT_CHROMIUM:-/usr/bin/chromium}" ]; then \
	  echo "make test: no Chromium at $${HT_CHROMIUM:-/usr/bin/chromium}; browser tests are skipped (apt-get install chromium)"; fi ; \
	DATABASE_URL="$$DATABASE_URL" $(PY) -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean:
	rm -rf $(VENV) var/*.sqlite3* test-artifacts .pytest_cache .ruff_cache build *.egg-info
