PY := .venv/bin/python
export PATH := $(CURDIR)/.venv/bin:$(PATH)

.PHONY: setup run test test-fast lint bench asyncapi image clean

setup:            ## system packages, .venv, a running Docker engine (idempotent)
	deploy/setup-host.sh

run: setup        ## the embedded stack with the example service installed, in the foreground
	$(PY) -m app.cli.main up --install-example

test: setup       ## the whole suite against the real parts, then lint
	$(PY) -m pytest -p no:cacheprovider --durations=15
	$(MAKE) lint

test-fast:        ## the pure-logic tier only
	$(PY) -m pytest -m unit -q

lint:
	.venv/bin/ruff check shared services app tests benchmarks
	.venv/bin/ruff format --check shared services app tests benchmarks
	.venv/bin/mypy shared services app

image: setup      ## the deployment's image (deploy/compose.yml), built from this checkout
	$(PY) -m app.deploy.image

asyncapi:         ## regenerate what is derived: docs/asyncapi.yaml, docs/events.md's channel table, deploy/prometheus.yml
	$(PY) -m shared.events.asyncapi > docs/asyncapi.yaml
	$(PY) -m shared.events.channel_table
	$(PY) -m app.deploy.scrape_config

bench: setup
	$(PY) -m pytest benchmarks -q -p no:cacheprovider -s

clean:
	rm -rf .venv .mypy_cache .ruff_cache .pytest_cache
