# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Two installs: what running needs (`make run`), and that plus the test and lint tools (the rest).
RUN_STAMP := $(VENV)/.installed-run
STAMP := $(VENV)/.installed

.PHONY: run test lint security bench load clean assets

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(RUN_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[serve]'
	touch $(RUN_STAMP)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[serve,test,postgres]'
	touch $(RUN_STAMP) $(STAMP)

# Welsh page strings: the .po is the source kept in git, the .mo is built from it.
MO := src/cprflow/web/translations/cy/LC_MESSAGES/messages.mo
$(MO): src/cprflow/web/translations/cy/LC_MESSAGES/messages.po | $(RUN_STAMP)
	$(BIN)/pybabel compile --use-fuzzy -d src/cprflow/web/translations

# Front-end libraries (govuk-frontend, MOJ Frontend, bpmn-js, dmn-js) come from npm at build time and are served from our own
# static folder: pages never reach a CDN. package-lock.json pins them; the copies stay out of git.
# axe-core is a test-only dev dependency: the browser tests read it from node_modules, never served.
VENDOR := src/cprflow/web/static/vendor
VENDOR_STAMP := $(VENDOR)/.copied
node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --ignore-scripts
$(VENDOR_STAMP): node_modules/.package-lock.json
	rm -rf $(VENDOR) && mkdir -p $(VENDOR)/bpmn-js $(VENDOR)/dmn-js
	cp node_modules/bpmn-js/dist/bpmn-modeler.production.min.js \
	   node_modules/bpmn-js/dist/bpmn-navigated-viewer.production.min.js $(VENDOR)/bpmn-js/
	cp -r node_modules/bpmn-js/dist/assets $(VENDOR)/bpmn-js/
	cp node_modules/dmn-js/dist/dmn-modeler.production.min.js $(VENDOR)/dmn-js/
	cp -r node_modules/dmn-js/dist/assets $(VENDOR)/dmn-js/
	mkdir -p $(VENDOR)/govuk-frontend $(VENDOR)/moj-frontend
	cp -r node_modules/govuk-frontend/dist/govuk/govuk-frontend.min.js node_modules/govuk-frontend/dist/govuk/assets/images \
	   $(VENDOR)/govuk-frontend/
	mkdir -p $(VENDOR)/govuk-frontend/assets && mv $(VENDOR)/govuk-frontend/images $(VENDOR)/govuk-frontend/assets/
	cp -r node_modules/@ministryofjustice/frontend/moj/moj-frontend.min.js \
	   node_modules/@ministryofjustice/frontend/moj/assets $(VENDOR)/moj-frontend/
	# Their stylesheets ask for images at /assets/: point them at the copies beside them. The GDS
	# Transport font is for services on GOV.UK only, so ours keep the fallback (Arial) it names.
	sed 's#url(/assets/#url(assets/#g; s#font-family:GDS Transport,#font-family:#g; /sourceMappingURL/d' \
	   node_modules/govuk-frontend/dist/govuk/govuk-frontend.min.css > $(VENDOR)/govuk-frontend/govuk-frontend.min.css
	sed 's#url(/assets/#url(assets/#g; s#font-family:GDS Transport,#font-family:#g; /sourceMappingURL/d' \
	   node_modules/@ministryofjustice/frontend/moj/moj-frontend.min.css > $(VENDOR)/moj-frontend/moj-frontend.min.css
	touch $@
assets: $(VENDOR_STAMP)

## Set up (what running needs, not the test tools; Node and npm build the diagram editor's assets),
## create or upgrade the SQLite database, deploy processes/, print the demo accounts and serve with
## gunicorn (one web worker per core) and the timer and notification workers, each a process that
## `cprflow serve` restarts if it dies; Ctrl-C stops them all. `cprflow serve --dev` is Flask's
## development server. Without CPRFLOW_SECRET_KEY a throwaway key is made for this run.
run: $(RUN_STAMP) $(MO) $(VENDOR_STAMP)
	$(BIN)/cprflow init
	$(BIN)/cprflow deploy --as make-run
	$(BIN)/cprflow demo
	CPRFLOW_SECRET_KEY="$${CPRFLOW_SECRET_KEY:-$$($(BIN)/python -c 'import secrets; print(secrets.token_hex(32))')}" \
		$(BIN)/cprflow serve

## Style, types and layering: ruff (lint and format), mypy on the inner layers, import-linter's contracts.
lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

## Set up and run the whole test suite (PostgreSQL tests need CPRFLOW_TEST_POSTGRES_URL), after lint.
test: lint $(MO) $(VENDOR_STAMP)
	$(BIN)/python -m pytest

## Run the security tests: bad-input corpus, API fuzzing, lockout, memory bound, role matrix, hostile
## diagrams and failing diagram code (`make test` runs them too).
security: $(STAMP) $(MO)
	$(BIN)/python -m pytest tests/security tests/web/api/test_role_matrix.py tests/diagrams/test_diagram_set.py tests/services/test_runtime_failures.py \
		tests/services/test_timer_worker.py tests/features/test_anonymisation.py

## Run the benchmarks and print each figure against its target.
bench: $(STAMP)
	$(BIN)/python -m bench

## 50 simulated staff working reviews through gunicorn (2 workers) on PostgreSQL for two minutes
## (CPRFLOW_BENCH_POSTGRES_URL or CPRFLOW_TEST_POSTGRES_URL); p50/p95 latency, throughput, 5xx count.
load: $(STAMP)
	$(BIN)/python -m bench.load --staff 50 --seconds 120 --workers 2

clean:
	rm -rf $(VENV) var .pytest_cache node_modules $(VENDOR)
