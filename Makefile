# contentpulse: `make demo` and `make test` set up everything they need (uv, .venv, Chromium).
SHELL := /bin/bash
.DEFAULT_GOAL := help
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV := $(PY) -m uv

export AIRFLOW_HOME ?= $(CURDIR)/.airflow
export AIRFLOW_CONFIG := $(CURDIR)/airflow.cfg
export AIRFLOW__CORE__DAGS_FOLDER := $(CURDIR)/dags
export NO_PROXY := 127.0.0.1,localhost
export no_proxy := 127.0.0.1,localhost
SANDBOX_PORT ?= 8765
# make postgres: a private PostgreSQL cluster (data, log and socket in PG_DIR) on 127.0.0.1
PG_PORT ?= 5433
PG_DIR ?= $(CURDIR)/.postgres
# test files run in parallel workers (pytest-xdist), each file whole in one worker, in the
# order tests/conftest.py gives them (the longest first), not xdist's (most tests first)
TEST_WORKERS ?= 2

.PHONY: help demo test lint format bench bench-ga4 bench-models bench-report bench-social bench-truth bench-night airflow chromium redis postgresql postgres postgres-stop clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-9s %s\n", $$1, $$2}'

$(BIN)/.synced: pyproject.toml uv.lock
	@$(PY) -m uv --version >/dev/null 2>&1 || $(PY) -m pip install --quiet uv
	$(UV) sync --frozen
	@touch $@

demo: $(BIN)/.synced ## the whole night against the local sandbox, no credentials needed
	$(BIN)/contentpulse demo

test: $(BIN)/.synced chromium redis postgresql lint ## lint, then every test (unit, sandbox, Airflow, Celery, PostgreSQL, DuckLake, browser, e2e)
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder --durations=12

lint: $(BIN)/.synced ## ruff (with the Airflow rules) and sqlfluff
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/sqlfluff lint --disable-progress-bar models reports/sql transforms/sql

format: $(BIN)/.synced ## fix what ruff and sqlfluff can fix
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .
	$(BIN)/sqlfluff fix --disable-progress-bar models reports/sql transforms/sql

bench: $(BIN)/.synced ## every benchmark: the whole night at scale, each source's extraction, the models, the report (prints figures; ~1 h)
	$(BIN)/python bench/night_bench.py
	$(BIN)/python bench/youtube_extract.py
	$(BIN)/python bench/ga4_extract.py
	$(BIN)/python bench/social_extract.py
	$(BIN)/python bench/truth_bench.py
	rm -rf .bench && $(BIN)/python bench/models_bench.py --dir .bench
	$(BIN)/python bench/report_bench.py --dir .bench

bench-ga4: $(BIN)/.synced ## GA4 extraction: 2 properties, 30,000 pages, 400 days vs the sandbox (prints figures; ~10 min)
	$(BIN)/python bench/ga4_extract.py

bench-models: $(BIN)/.synced ## the marts on a generated 20,000-video, 2-year history (prints figures; ~5 min)
	$(BIN)/python bench/models_bench.py

bench-night: $(BIN)/.synced ## the whole night, every source at once: 10 channels, 2 properties, 6 social accounts, 2 years
	$(BIN)/python bench/night_bench.py

bench-social: $(BIN)/.synced ## Instagram, Facebook, TikTok: 15,000 posts, 400 days; calls per night by age vs all (prints figures)
	$(BIN)/python bench/social_extract.py

bench-truth: $(BIN)/.synced ## the social figures against the truth after onboarding and eight weeks of nights (prints figures; ~5 min)
	$(BIN)/python bench/truth_bench.py

bench-report: $(BIN)/.synced ## the weekly report on that history (prints build time and size)
	$(BIN)/python bench/report_bench.py --dir .bench

chromium: ## Debian's Chromium for the browser tests (installs it when missing and root)
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium is missing: sudo apt-get install chromium" >&2; exit 1; fi; }

redis: ## Debian's redis-server for the Celery tests (installs it when missing and root)
	@command -v redis-server >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; \
	  else echo "redis-server is missing: sudo apt-get install redis-server" >&2; exit 1; fi; }

postgresql: ## Debian's PostgreSQL server for the Celery and DuckLake tests (installs it when missing and root)
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; \
	  else echo "PostgreSQL is missing: sudo apt-get install postgresql" >&2; exit 1; fi; }

# initdb refuses root, so as root the cluster is the postgres user's (PG_DIR must be reachable
# by that user); trust authentication, on 127.0.0.1 only
postgres: postgresql ## a private PostgreSQL on 127.0.0.1:5433 (PG_PORT) in .postgres/, with a database airflow
	@bin=$$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1); \
	bin=$${bin:-$$(dirname "$$(command -v initdb)")}; as=(); \
	mkdir -p $(PG_DIR); \
	if [ "$$(id -u)" = 0 ]; then chown postgres: $(PG_DIR); as=(runuser -u postgres --); fi; \
	[ -f $(PG_DIR)/data/PG_VERSION ] || "$${as[@]}" $$bin/initdb -D $(PG_DIR)/data -A trust -U postgres -E UTF8 --no-locale >/dev/null; \
	"$${as[@]}" $$bin/pg_ctl -D $(PG_DIR)/data status >/dev/null || \
	"$${as[@]}" $$bin/pg_ctl -D $(PG_DIR)/data -l $(PG_DIR)/postgres.log -w \
	  -o "-p $(PG_PORT) -k $(PG_DIR) -c listen_addresses=127.0.0.1" start >/dev/null; \
	$$bin/psql -h 127.0.0.1 -p $(PG_PORT) -U postgres -tAc "select 1 from pg_database where datname = 'airflow'" \
	  | grep -q 1 || $$bin/createdb -h 127.0.0.1 -p $(PG_PORT) -U postgres airflow; \
	echo "PostgreSQL on 127.0.0.1:$(PG_PORT), user postgres, database airflow (log: $(PG_DIR)/postgres.log; make postgres-stop stops it)"; \
	echo "  AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=postgresql+psycopg://postgres@127.0.0.1:$(PG_PORT)/airflow"

postgres-stop: ## stop the PostgreSQL of make postgres
	@bin=$$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1); \
	bin=$${bin:-$$(dirname "$$(command -v pg_ctl)")}; as=(); \
	if [ "$$(id -u)" = 0 ]; then as=(runuser -u postgres --); fi; \
	[ ! -f $(PG_DIR)/data/postmaster.pid ] || "$${as[@]}" $$bin/pg_ctl -D $(PG_DIR)/data -w stop

airflow: $(BIN)/.synced ## Airflow's UI on 127.0.0.1:8080, DAGs pointed at the sandbox on 127.0.0.1:8765
	@umask 077; mkdir -p $(AIRFLOW_HOME) demo
	umask 077; $(BIN)/contentpulse sandbox serve --port $(SANDBOX_PORT) --write-config demo/airflow.yml \
	  --data-dir demo/airflow-data & sandbox=$$!; trap "kill $$sandbox 2>/dev/null" EXIT INT TERM; \
	export CONTENTPULSE_CONFIG=$(CURDIR)/demo/airflow.yml PATH=$(CURDIR)/$(BIN):$$PATH; \
	eval "$$($(BIN)/python -m contentpulse.credentials --airflow-env $(AIRFLOW_HOME))"; \
	eval "$$($(BIN)/python -m contentpulse.credentials --export sandbox/connections.json)"; \
	for i in $$(seq 100); do [ -f demo/airflow.yml ] && break; sleep 0.2; done; \
	$(BIN)/airflow db migrate >/dev/null && $(BIN)/contentpulse pools --json $(AIRFLOW_HOME)/pools.json \
	  && $(BIN)/airflow pools import $(AIRFLOW_HOME)/pools.json; \
	$(BIN)/airflow standalone

clean: postgres-stop ## remove the demo output, Airflow's state, make postgres's cluster and caches (keeps .venv)
	rm -rf demo .airflow .postgres .pytest_cache .ruff_cache
