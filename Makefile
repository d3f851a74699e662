# Human Touch — see README.md. Needs only python3 (3.11+) on the machine.
#   make run    set up, migrate, seed the demo world, start web server + django-q2 cluster
#   make test   the whole test suite (PostgreSQL when available, else SQLite)
#   make bench-quick  every bench in bench/ in quick mode (small data), as CI runs them
#   make example-agent  the example agent (clients/python/examples) against a running `make run`
#   make prove  the full form of the proofs CI runs short: properties and fuzzing with many examples
#   make faults  the full fault runs: 20 worker kills per task, PostgreSQL restarted under API load
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
RUN_STAMP := $(VENV)/.installed-run
# Set on the command line (make run PORT=8001), not taken from the environment, where HOST
# often holds the machine's name.
HOST := 127.0.0.1
PORT := 8000
TECHNICAL_ERROR_PAGES :=

.PHONY: install run test bench-quick example-agent prove faults lint format clean

# Reinstalls whenever pyproject.toml or the client's changes. A stamp is written only after a
# complete install, so an interrupted one is simply redone. The Python client (clients/python) is
# installed editable: the tests drive it against a live server, and its console script
# human-touch-mcp lands in .venv/bin. `make run` installs only what runs the product (RUN_STAMP);
# the targets that test, lint or bench add the dev tools (STAMP: pytest, Playwright, schemathesis,
# locust, …), which were most of a first `make run`'s install time.
$(RUN_STAMP): pyproject.toml clients/python/pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Human Touch needs Python 3.11 or newer (PYTHON=$(PYTHON))")'
	@test -x $(PY) || { echo "make: creating the virtualenv in $(VENV)"; $(PYTHON) -m venv $(VENV); }
	@echo "make: installing Human Touch and its dependencies into $(VENV) (a minute the first time; pip shows each package)"
	@$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --disable-pip-version-check --progress-bar on "." -e ./clients/python
	@touch $(RUN_STAMP)
	@echo "make: installed"

$(STAMP): $(RUN_STAMP)
	@echo "make: installing the development tools into $(VENV) (tests, browsers' driver, linters, benches)"
	$(PY) -m pip install --disable-pip-version-check --progress-bar on ".[dev]" -e ./clients/python
	@touch $(STAMP)
	@echo "make: installed"

install: $(STAMP)

# Mail goes to files in var/mail/ (DEBUG's default, config/settings.py); Django's technical error
# pages instead of the product's: make run TECHNICAL_ERROR_PAGES=1.
run: $(RUN_STAMP)
	@echo "make run: migrating the database"
	DEBUG=1 $(PY) manage.py migrate --noinput
	@echo "make run: seeding the demo world"
	DEBUG=1 $(PY) manage.py seed_demo
	DEBUG=1 $(PY) manage.py setup_schedules
	@echo "make run: starting the web server and the django-q2 cluster"
	DEBUG=1 HOST=$(HOST) PORT=$(PORT) TECHNICAL_ERROR_PAGES=$(TECHNICAL_ERROR_PAGES) bin/run

# PostgreSQL when DATABASE_URL is set or one answers on 127.0.0.1:5432, else SQLite.
# Extra pytest arguments: make test PYTEST_ARGS="tests/tenants -k policy"
test: $(STAMP)
	@DATABASE_URL="$${DATABASE_URL:-$$(bin/detect-postgres)}" ; \
	if [ -n "$$DATABASE_URL" ]; then echo "make test: PostgreSQL ($$DATABASE_URL)"; \
	else echo "make test: SQLite (no PostgreSQL found; tests marked postgres are skipped)"; fi ; \
	if [ ! -x "$${HT_CHROMIUM:-/usr/bin/chromium}" ]; then \
	  echo "make test: no Chromium at $${HT_CHROMIUM:-/usr/bin/chromium}; browser tests are skipped (apt-get install chromium)"; fi ; \
	DATABASE_URL="$$DATABASE_URL" $(PY) -m pytest $(PYTEST_ARGS)

# The authorization matrix, the property tests and schemathesis against the live API with many
# examples each (CI runs the same tests with few: HYPOTHESIS_PROFILE=ci, the default).
prove: $(STAMP)
	@DATABASE_URL="$${DATABASE_URL:-$$(bin/detect-postgres)}" ; \
	if [ -z "$$DATABASE_URL" ]; then echo "make prove: needs PostgreSQL (set DATABASE_URL)" >&2; exit 1; fi ; \
	DATABASE_URL="$$DATABASE_URL" HYPOTHESIS_PROFILE=full $(PY) -m pytest -p no:cacheprovider \
	  tests/test_authorization_matrix.py tests/test_properties.py tests/api/test_schemathesis.py

# Issue 20.6 in full: a worker SIGKILLed mid task 20 times for each of the trigger scan, the SLA
# sweep, the reconciliation and the webhook delivery (CI runs 2 of each), then PostgreSQL restarted
# under API load — on a server of the run's own (bench/faults.py), never the shared one.
faults: $(STAMP)
	@DATABASE_URL="$${DATABASE_URL:-$$(bin/detect-postgres)}" ; \
	if [ -z "$$DATABASE_URL" ]; then echo "make faults: needs PostgreSQL (set DATABASE_URL)" >&2; exit 1; fi ; \
	DATABASE_URL="$$DATABASE_URL" HT_FAULT_ROUNDS=20 $(PY) -m pytest -p no:cacheprovider tests/faults && \
	DATABASE_URL="$$DATABASE_URL" $(PY) bench/faults.py --pg-restart

# Every script in bench/ with --quick against PostgreSQL (each in its own database, see
# bench/_setup.py): small data, so it checks that the benches still run, and prints their figures.
# Runs them all and fails if any failed. BENCH_DATABASE_BASE names the databases (bench_ht_…).
bench-quick: $(STAMP)
	@DATABASE_URL="$${DATABASE_URL:-$$(bin/detect-postgres)}" ; \
	if [ -z "$$DATABASE_URL" ]; then echo "make bench-quick: needs PostgreSQL (set DATABASE_URL)" >&2; exit 1; fi ; \
	failed="" ; \
	for bench in bench/[!_]*.py; do \
	  [ "$$bench" = bench/faults.py ] && continue ; \
	  echo "=== $$bench --quick" ; \
	  DATABASE_URL="$$DATABASE_URL" $(PY) $$bench --quick || failed="$$failed $$bench" ; \
	done ; \
	if [ -n "$$failed" ]; then echo "make bench-quick: FAILED:$$failed" >&2; exit 1; fi ; \
	echo "make bench-quick: every bench ran"

# With `make run` serving in another terminal: a key for acme, then the example agent against it
# (it waits for a person to decide the A3 it opens; see README.md "The agent kit").
example-agent: $(STAMP)
	@key=$$(DEBUG=1 $(PY) manage.py agent_key_create --tenant acme --name example-optimizer | tail -n 1) && \
	HT_BASE_URL=http://$(HOST):$(PORT) HT_API_KEY="$$key" $(PY) clients/python/examples/optimizer.py

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean:
	rm -rf $(VENV) var/*.sqlite3* test-artifacts .pytest_cache .ruff_cache build *.egg-info \
	  clients/python/build clients/python/src/*.egg-info
