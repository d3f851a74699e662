# Human Touch — see README.md. Needs only python3 (3.11) on the machine.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run test lint format bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet ".[dev]"
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	DEBUG=1 $(PY) manage.py migrate --noinput
	DEBUG=1 $(PY) manage.py seed_demo
	DEBUG=1 $(PY) manage.py setup_schedules
	DEBUG=1 HOST=$(HOST) PORT=$(PORT) bin/run

# PostgreSQL when DATABASE_URL is set or one answers on 127.0.0.1:5432, else SQLite.
test: $(STAMP)
	@DATABASE_URL="$${DATABASE_URL:-$$(bin/detect-postgres)}" ; \
	if [ -n "$$DATABASE_URL" ]; then echo "make test: PostgreSQL ($$DATABASE_URL)"; else echo "make test: SQLite (no PostgreSQL found)"; fi ; \
	DATABASE_URL="$$DATABASE_URL" $(PY) -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean:
	rm -rf $(VENV) var/*.sqlite3* test-artifacts .pytest_cache .ruff_cache
