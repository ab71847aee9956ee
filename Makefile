# Explore: `make run` and `make test` do all their own set-up.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export DJANGO_SETTINGS_MODULE := explore_site.settings
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test venv migrate demo serve up worker beat lint bench distill reset clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip>=24"
	# constraints.txt pins the whole tree; torch==2.13.0 is the CPU build (a looser pin pulls CUDA).
	$(PY) -m pip install --quiet -c constraints.txt ".[dev]"
	touch $(STAMP)

venv: $(STAMP)

migrate: venv
	mkdir -p var
	$(PY) manage.py migrate --noinput -v0

demo: migrate
	$(PY) manage.py seed_demo

## make run: set up, migrate, load the demo, serve the site with its workers.
run: demo
	@if [ -n "$$CELERY_BROKER_URL" ]; then exec scripts/run_all.sh; fi; \
	echo; echo "  Explore is at http://$(HOST):$(PORT)/  (log in as demo / $${EXPLORE_DEMO_PASSWORD:-explore-demo})"; echo; \
	$(PY) manage.py run_pipeline_loop & loop=$$!; \
	trap "kill $$loop 2>/dev/null" EXIT INT TERM; \
	$(PY) manage.py runserver $(HOST):$(PORT) --noreload

## make up: web + worker + beat against DATABASE_URL and CELERY_BROKER_URL.
up: migrate
	scripts/run_all.sh

worker: venv
	$(VENV)/bin/celery -A explore_site worker -l INFO -Q default,embedding,scoring,maintenance,pages,clustering-0 -c 2

beat: venv
	$(VENV)/bin/celery -A explore_site beat -l INFO --schedule var/celerybeat-schedule

## make test: set up, lint, check migrations, run the whole suite.
test: venv
	mkdir -p var
	$(VENV)/bin/ruff check .
	$(PY) manage.py makemigrations --check --dry-run
	$(VENV)/bin/pytest $(PYTEST_ARGS)

lint: venv
	$(VENV)/bin/ruff check .

distill: venv
	mkdir -p var
	$(PY) manage.py distill_static_model

bench: migrate distill
	bench/run_all.sh

reset:
	rm -f var/explore.sqlite3 var/explore.sqlite3-wal var/explore.sqlite3-shm

clean: reset
	rm -rf $(VENV) staticfiles .pytest_cache .ruff_cache
