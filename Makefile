# Attest: two commands.  `make run` starts the app with demo data; `make test` runs the whole suite.
# Without DATABASE_URL / CELERY_BROKER_URL an embedded PostgreSQL and a filesystem broker under var/ are used.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
# MLflow for the MLflow import/sync tests, in a venv of its own: its pins clash with ours and Attest talks to
# it over REST only, like to the database (tests/integrations/mlflow/server.py starts it).
MLFLOW_VENV  := var/mlflow-venv
MLFLOW_STAMP := $(MLFLOW_VENV)/.installed-stamp
MLFLOW_REQS  := tests/integrations/mlflow/requirements.txt

.PHONY: run test install system-check lint format migrations-check clean screenshots mlflow-env oidc-provider

run: install
	@$(PY) -m config.devstack run

# The MLflow venv (and the SSO tests' OpenID Provider) install beside Attest's own venv and the lint (they
# share nothing), saving their minute.
test: system-check
	@mkdir -p var; $(MAKE) --no-print-directory mlflow-env oidc-provider > var/mlflow-env.log 2>&1 & mlflow=$$!; \
	$(MAKE) --no-print-directory lint; linted=$$?; \
	wait $$mlflow; built=$$?; grep '^\[attest\]' var/mlflow-env.log || true; \
	if [ $$built -ne 0 ]; then cat var/mlflow-env.log; fi; \
	test $$linted -eq 0 && test $$built -eq 0
	@$(PY) -m config.devstack test $(PYTEST_ARGS)

install: system-check $(STAMP)

system-check:
	@$(PYTHON) config/syscheck.py

$(STAMP): pyproject.toml clients/python/pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Attest needs Python 3.11 or newer (set PYTHON=python3.11)")'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "[attest] installing dependencies into $(VENV) (first time: a few minutes)"
	@$(PY) -m pip install --quiet --disable-pip-version-check -e ".[dev]" -e clients/python
	@touch $(STAMP)

mlflow-env: system-check $(MLFLOW_STAMP)

# The OpenID Provider the SSO tests sign in at (Node.js; npm ci into var/oidc-provider-node, ~10 s once).
oidc-provider: system-check
	@$(PYTHON) tests/accounts/sso/oidc_provider/install.py

$(MLFLOW_STAMP): $(MLFLOW_REQS)
	@test -x $(MLFLOW_VENV)/bin/python || $(PYTHON) -m venv $(MLFLOW_VENV)
	@echo "[attest] installing MLflow into $(MLFLOW_VENV) for the MLflow tests (first time: about a minute)"
	@$(MLFLOW_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r $(MLFLOW_REQS)
	@touch $@

lint: install
	@$(PY) -m ruff check .
	@$(PY) -m ruff format --check --quiet .
	@out=$$($(VENV)/bin/lint-imports --no-cache --no-logo 2>&1) || (echo "$$out"; echo "[attest] an import breaks an architecture contract: see [tool.importlinter] in pyproject.toml and docs/ARCHITECTURE.md" && exit 1)
	@$(PY) manage.py makemigrations --check --dry-run > /dev/null || (echo "[attest] a model change has no migration: run manage.py makemigrations" && exit 1)

# Refresh the README's screenshots from the browser tests (tests themselves write only under var/).
screenshots: install
	@ATTEST_SCREENSHOTS=$(CURDIR)/docs/screenshots $(PY) -m config.devstack test tests/e2e -m browser

format: install
	@$(PY) -m ruff format .
	@$(PY) -m ruff check --fix .

clean:
	rm -rf var/static .pytest_cache
