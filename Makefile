# Scale Wall Lab. `make up` is the main command; `make test` runs the whole suite on the native stack.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SCALELAB := $(BIN)/scalelab
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: up down status doctor test install

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

# Starts the native stack unless it is already up, runs pytest, and stops the stack it started even
# when tests fail.
test: $(STAMP) .env
	$(SCALELAB) system-packages --for-tests
	@if $(SCALELAB) status >/dev/null 2>&1; then started=no; else started=yes; fi; \
	if [ $$started = yes ]; then $(SCALELAB) up --native || { $(SCALELAB) down; exit 1; }; fi; \
	$(BIN)/pytest $(PYTEST_ARGS); status=$$?; \
	if [ $$started = yes ]; then $(SCALELAB) down; fi; \
	exit $$status
