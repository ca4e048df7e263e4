# Clausewatch. `make run` serves the site with embedded defaults; `make test` runs every test.
UV ?= python3 -m uv
PY := $(UV) run --frozen python
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run serve tracker worker beat test test-fast lint format bench clean backup restore

install:
	python3 -m pip install --quiet --disable-pip-version-check uv
	$(UV) sync --frozen

run: install
	$(PY) manage.py migrate --no-input
	$(PY) manage.py seed
	@echo "Serving http://$(HOST):$(PORT) (tracker running in-process alongside)"
	$(PY) manage.py runtracker & TRACKER=$$!; \
	trap 'kill $$TRACKER 2>/dev/null' EXIT INT TERM; \
	$(PY) manage.py runserver $(HOST):$(PORT)

serve:
	$(UV) run --frozen gunicorn config.wsgi --bind 0.0.0.0:$(PORT) --workers $${WEB_CONCURRENCY:-3} --access-logfile -

worker:
	$(UV) run --frozen celery -A config worker --loglevel INFO --concurrency $${WORKER_CONCURRENCY:-4}

beat:
	$(UV) run --frozen celery -A config beat --loglevel INFO --schedule /tmp/celerybeat-schedule

test: install
	$(UV) run --frozen pytest $(PYTEST_ARGS)

test-fast:
	$(UV) run --frozen pytest -m "not e2e and not slow" $(PYTEST_ARGS)

lint:
	$(UV) run --frozen ruff check .
	$(UV) run --frozen ruff format --check .

format:
	$(UV) run --frozen ruff format .
	$(UV) run --frozen ruff check --fix .

# One benchmark script: `make bench NAME=pipeline ARGS="--docs 1000"` (see bench/BENCHMARKS.md).
bench:
	@test -n "$(NAME)" || { echo "usage: make bench NAME=<script> [ARGS=...]; scripts:" \
	  $$(ls bench/*.py | xargs -n1 basename | sed 's/\.py$$//' | grep -v -e _settings -e _urls -e pageserver); exit 2; }
	$(PY) bench/$(NAME).py $(ARGS)

# PostgreSQL only (DATABASE_URL): `make backup [FILE=x.dump]`, `make restore FILE=x.dump`.
backup:
	bin/backup $(FILE)

restore:
	bin/restore $(FILE)

clean:
	rm -rf var/ .pytest_cache test-artifacts
