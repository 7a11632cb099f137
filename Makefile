# Tickerwatch: `make run` starts the app, `make test` runs the suite.
# Each target sets itself up on a fresh machine (virtualenv, packages, migrations).

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
RUNTIME_STAMP := $(VENV)/.runtime-installed
DEV_STAMP := $(VENV)/.dev-installed
PYTEST_ARGS ?=
BENCH_ARGS ?=

.PHONY: run test lint format bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(RUNTIME_STAMP): requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(DEV_STAMP): requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@ $(RUNTIME_STAMP)

## run: web (daphne), Celery worker and beat; SQLite and a private Redis unless DATABASE_URL/REDIS_URL are set
run: $(RUNTIME_STAMP)
	@mkdir -p var
	DEBUG=$${DEBUG:-1} $(BIN)/python bin/with-redis bin/run-app

## test: the whole suite; PostgreSQL and Redis when DATABASE_URL/REDIS_URL are set
test: $(DEV_STAMP)
	@mkdir -p var
	$(BIN)/python bin/with-redis $(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(DEV_STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## bench: upstream economy, fan-out against two references, the page, a 10-minute memory soak (about
## 30 min; figures in var/bench/). Parts: BENCH_ARGS="--only fanout --clients 100,1000"; smoke run: "--quick".
## PostgreSQL when DATABASE_URL is set (a <name>_bench database beside it), else SQLite under var/bench/.
bench: $(DEV_STAMP)
	@mkdir -p var/bench
	$(BIN)/python bin/with-redis $(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf var/redis var/db.sqlite3* var/celerybeat-schedule*
