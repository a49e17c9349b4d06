# fraudstack — `make help` lists the targets.
SHELL := /bin/bash
HOME_DIR ?= $(or $(FRAUDSTACK_HOME),$(CURDIR)/.fraudstack)
VENV := $(HOME_DIR)/venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=

.DEFAULT_GOAL := help

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[1m%-10s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

setup: ## Install Debian packages, the virtualenv and the service jars (idempotent)
	@scripts/setup.sh

demo: setup ## Set up, start the stack, run the batch layer on 30 days of history (transactions, orders, stock), then stream live transactions and watch them scored
	@$(BIN)/fraudstack up
	@$(BIN)/fraudstack status
	@$(BIN)/fraudstack generate --days 30 --per-day 10000 --orders --to master
	@$(BIN)/fraudstack batch run
	@# the live part watches new transactions: a first start skips whatever is already
	@# on the topics (e.g. the test suite's records), a later one resumes its checkpoint
	@$(BIN)/fraudstack stream start --from latest
	@mkdir -p .fraudstack/logs
	@echo "live generator: 50 transactions/s for 90 s (log: .fraudstack/logs/demo-generator.log)"
	@$(BIN)/fraudstack generate --rate 50 --duration 90 --customers 50000 \
		> .fraudstack/logs/demo-generator.log 2>&1 & \
	$(BIN)/fraudstack stream watch --duration 180; wait
	@$(BIN)/fraudstack stream status
	@echo "The speed layer keeps running: fraudstack stream stop (or make down) stops it."

up: ## Start the local stack
	@$(BIN)/fraudstack up

down: ## Stop the local stack
	@$(BIN)/fraudstack down

status: ## Show every service's health
	@$(BIN)/fraudstack status

test: setup ## Set up and run the whole test suite (starts the real stack it needs)
	@$(BIN)/pytest $(PYTEST_ARGS)

test-unit: ## Fast inner loop: tests that need no Spark and no services
	@$(BIN)/pytest -m "not integration and not spark" $(PYTEST_ARGS)

check: ## Lint, format check and type check
	@$(BIN)/ruff check .
	@$(BIN)/ruff format --check .
	@$(BIN)/mypy

fmt: ## Format the code
	@$(BIN)/ruff check --fix .
	@$(BIN)/ruff format .

audit: ## Check the installed packages of both virtualenvs (ours, Superset's) for known vulnerabilities
	@status=0; for venv in $(VENV) $(HOME_DIR)/superset-venv; do \
		echo "== $$venv"; \
		$(BIN)/pip-audit --strict --skip-editable --progress-spinner off \
			--path "$$(echo $$venv/lib/python3*/site-packages)" || status=1; \
	done; exit $$status

reset: ## Stop the stack and delete its data and logs (keeps jars and venv)
	@$(BIN)/fraudstack reset --yes

.PHONY: help setup demo up down status test test-unit check audit fmt reset
