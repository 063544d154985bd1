# Atlas: `make run` serves the embedded default (SQLite, local artifact folder, demo models) with its
# `worker:` (promotion jobs), both from the Procfile under honcho;
# `make test` runs the whole suite on PostgreSQL and on SQLite, side by side.

PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 8000
HOST ?= 127.0.0.1
WEB_CONCURRENCY ?= 2
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/atlas
PYTEST_ARGS ?=
# The PostgreSQL and SQLite runs side by side (each has its own databases, folders, ports and servers): one run
# keeps about one core busy (user + system time was 93% of its wall time), so two share 2 cores without
# waiting on each other much (TEST_JOBS=1: one after the other).
TEST_JOBS ?= 2
MYPY_PATHS ?= atlas models_registry inference vocabulary
# KServe's client (tests/oip) in a virtualenv of its own: it needs protobuf 6, the service pins 7.
KSERVE_VENV ?= $(VENV)-kserve
KSERVE_PYTHON = $(if $(wildcard $(KSERVE_VENV)/bin/python),$(abspath $(KSERVE_VENV))/bin/python,)

.PHONY: venv lock run split migrate test test-postgres test-sqlite lint typecheck clean

# Dependencies are declared once, with exact pins and a word of why: what production imports in
# requirements.in, what only tests and tools use in requirements-dev.in. pip-tools compiles them into the
# locks requirements.txt (all production installs) and requirements-dev.txt (with it, for development and CI).
# To add a dependency: add `name==X.Y.Z` to the .in file, run `make lock`, commit the .in and both .txt files.
# torch pins its own CUDA wheels (Linux only): the locks leave them to it, so that they install on macOS too.
TORCH_OWN := cuda-bindings cuda-pathfinder cuda-toolkit nvidia-cublas nvidia-cuda-cupti nvidia-cuda-nvrtc \
	nvidia-cuda-runtime nvidia-cudnn-cu13 nvidia-cufft nvidia-cufile nvidia-curand nvidia-cusolver nvidia-cusparse \
	nvidia-cusparselt-cu13 nvidia-nccl-cu13 nvidia-nvjitlink nvidia-nvshmem-cu13 nvidia-nvtx triton setuptools pip
PIP_COMPILE := CUSTOM_COMPILE_COMMAND="make lock" $(VENV)/bin/pip-compile --quiet --strip-extras --no-emit-index-url --no-emit-find-links \
	$(addprefix --unsafe-package ,$(TORCH_OWN))

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt -r requirements-dev.txt
	touch $@

venv: $(VENV)/.installed

$(KSERVE_VENV)/.installed: requirements-kserve.txt
	test -x $(KSERVE_VENV)/bin/python || $(PYTHON) -m venv $(KSERVE_VENV)
	$(KSERVE_VENV)/bin/python -m pip install --quiet -r requirements-kserve.txt
	touch $@

# Recompile both locks after an edit of requirements.in or requirements-dev.in; a pin already in a lock is
# kept unless its .in says otherwise (`make lock PIP_COMPILE_ARGS=--upgrade` moves everything to the newest).
lock: venv
	$(PIP_COMPILE) $(PIP_COMPILE_ARGS) -o requirements.txt requirements.in
	$(PIP_COMPILE) $(PIP_COMPILE_ARGS) -o requirements-dev.txt requirements-dev.in

migrate: venv
	$(PY) manage.py migrate --noinput -v0

run: migrate
	$(PY) manage.py collectstatic --noinput -v0
	$(PY) manage.py ensure_admin
	$(PY) manage.py seed_demo
	@echo "Atlas on http://$(HOST):$(PORT)/  (admin: /admin/, API docs: /docs)"
	ATLAS_ENV=$${ATLAS_ENV:-development} WEB_CONCURRENCY=$(WEB_CONCURRENCY) HOST=$(HOST) PORT=$(PORT) PATH="$(abspath $(VENV))/bin:$$PATH" \
		$(VENV)/bin/honcho -f Procfile start web worker

test: venv $(KSERVE_VENV)/.installed
	scripts/ensure_postgres.sh
	scripts/ensure_chromium.sh
	scripts/ensure_caddy.sh
	scripts/ensure_socat.sh
	$(MAKE) --no-print-directory -j$(TEST_JOBS) --output-sync=target test-postgres test-sqlite

test-postgres: venv
	@echo "== the suite on PostgreSQL"
	DATABASE_URL=$(TEST_DATABASE_URL) ATLAS_TEST_KSERVE_PYTHON=$(KSERVE_PYTHON) $(VENV)/bin/pytest $(PYTEST_ARGS)

test-sqlite: venv
	@echo "== the suite on SQLite"
	env -u DATABASE_URL ATLAS_TEST_KSERVE_PYTHON=$(KSERVE_PYTHON) $(VENV)/bin/pytest $(PYTEST_ARGS)

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	ATLAS_ENV=development $(VENV)/bin/mypy $(MYPY_PATHS)
	$(VENV)/bin/lint-imports --no-cache --no-logo  # .importlinter: the layers run one way, no cycles
	$(PY) manage.py makemigrations --check --dry-run

# mypy alone (mypy.ini: strict for models_registry/ and inference/), as `lint` runs it.
typecheck: venv
	ATLAS_ENV=development $(VENV)/bin/mypy $(MYPY_PATHS)

# The split deployment on this machine (docs/DEPLOY.md): Caddy on PORT routes the torch models' paths to the
# torch service (TORCH_PORT) and the rest to the web service (WEB_PORT); honcho runs deploy/Procfile.split,
# and one Ctrl-C stops it all.
WEB_PORT ?= $(shell echo $$(( $(PORT) + 1 )))
TORCH_PORT ?= $(shell echo $$(( $(PORT) + 2 )))

split: migrate
	scripts/ensure_caddy.sh
	$(PY) manage.py collectstatic --noinput -v0
	$(PY) manage.py ensure_admin
	$(PY) manage.py seed_demo
	@echo "Atlas (split) on http://$(HOST):$(PORT)/  (web service :$(WEB_PORT), torch service :$(TORCH_PORT))"
	ATLAS_ENV=$${ATLAS_ENV:-development} ATLAS_NUM_PROXIES=1 WEB_CONCURRENCY=$(WEB_CONCURRENCY) \
	ATLAS_ROUTER_BIND=$(HOST) ATLAS_ROUTER_PORT=$(PORT) WEB_PORT=$(WEB_PORT) TORCH_PORT=$(TORCH_PORT) \
	ATLAS_WEB_UPSTREAM=127.0.0.1:$(WEB_PORT) ATLAS_TORCH_UPSTREAM=127.0.0.1:$(TORCH_PORT) \
	PATH="$(abspath $(VENV))/bin:$$PATH" $(VENV)/bin/honcho start --no-colour -f deploy/Procfile.split -d .

clean:
	rm -rf var staticfiles .pytest_cache
