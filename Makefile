# Atlas: `make run` serves the embedded default (SQLite, local artifact folder, demo models) with its
# `worker:` (promotion jobs), both from the Procfile under honcho;
# `make test` runs the whole suite on PostgreSQL and on SQLite.

PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 8000
HOST ?= 127.0.0.1
WEB_CONCURRENCY ?= 2
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/atlas
PYTEST_ARGS ?=
MYPY_PATHS ?= atlas models_registry inference vocabulary

.PHONY: venv run migrate test test-postgres test-sqlite lint typecheck clean

$(VENV)/.installed: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

venv: $(VENV)/.installed

migrate: venv
	$(PY) manage.py migrate --noinput -v0

run: migrate
	$(PY) manage.py collectstatic --noinput -v0
	$(PY) manage.py ensure_admin
	$(PY) manage.py seed_demo
	@echo "Atlas on http://$(HOST):$(PORT)/  (admin: /admin/, API docs: /docs)"
	ATLAS_ENV=$${ATLAS_ENV:-development} WEB_CONCURRENCY=$(WEB_CONCURRENCY) HOST=$(HOST) PORT=$(PORT) PATH="$(abspath $(VENV))/bin:$$PATH" honcho -f Procfile start web worker

test: venv
	scripts/ensure_postgres.sh
	scripts/ensure_chromium.sh
	$(MAKE) --no-print-directory test-postgres test-sqlite

test-postgres: venv
	@echo "== the suite on PostgreSQL"
	DATABASE_URL=$(TEST_DATABASE_URL) $(VENV)/bin/pytest $(PYTEST_ARGS)

test-sqlite: venv
	@echo "== the suite on SQLite"
	env -u DATABASE_URL $(VENV)/bin/pytest $(PYTEST_ARGS)

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	ATLAS_ENV=development $(VENV)/bin/mypy $(MYPY_PATHS)
	$(PY) manage.py makemigrations --check --dry-run

# mypy alone (mypy.ini: strict for models_registry/ and inference/), as `lint` runs it.
typecheck: venv
	ATLAS_ENV=development $(VENV)/bin/mypy $(MYPY_PATHS)

clean:
	rm -rf var staticfiles .pytest_cache
