# Scale Wall Lab. `make up` is the main command; `make test` runs the whole suite on the native stack.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SCALELAB := $(BIN)/scalelab
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: up down status doctor test test-docker install

# The virtualenv, reinstalled when the project's dependencies change.
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=25.1"
	$(BIN)/python -m pip install --quiet --editable . --group dev
	@touch $@

install: $(STAMP)

.env: | $(STAMP)
	$(BIN)/python -m scalelab.stack.envfile

up: $(STAMP) .env
	$(SCALELAB) up

down: $(STAMP)
	$(SCALELAB) down

status: $(STAMP)
	$(SCALELAB) status

doctor: $(STAMP) .env
	$(SCALELAB) doctor

# The native suite: starts the native stack unless it is already up, runs pytest, and stops the stack
# it started even when tests fail. Then the docker suite (tests/docker), which starts its own Docker
# engine and stack on the same ports: so only when this run started (and stopped) the native one.
test: $(STAMP) .env
	$(SCALELAB) system-packages --for-tests
	@if $(SCALELAB) status >/dev/null 2>&1; then started=no; else started=yes; fi; \
	if [ $$started = yes ]; then $(SCALELAB) up --native || { $(SCALELAB) down; exit 1; }; fi; \
	$(BIN)/pytest -m "not docker" $(PYTEST_ARGS); status=$$?; \
	if [ $$started = yes ]; then $(SCALELAB) down; \
	  $(BIN)/pytest -m docker $(PYTEST_ARGS) || status=1; \
	else echo "the docker suite did not run: your native stack holds its ports (make down, then make test-docker)"; fi; \
	exit $$status

# The docker suite alone (the stack must be down: it uses the same ports).
test-docker: $(STAMP) .env
	$(SCALELAB) system-packages --for-tests
	$(BIN)/pytest -m docker $(PYTEST_ARGS)
