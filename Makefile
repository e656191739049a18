# Two commands do all set-up on a fresh Debian machine with Python 3.11:
#   make run    creates .venv, installs, serves the chat on http://127.0.0.1:8000/
#   make test   installs what tests need (Debian's chromium, npm's axe-core), runs everything

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
STAGE ?= dev

.PHONY: run test test-deploy lint unit bench package deploy-chalice deploy-cfn deploy-tf clean

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet 'pip>=24,<26.3'  # chalice 1.34 needs pip<26.3
	$(BIN)/python -m pip install --quiet -r requirements.txt -r requirements-dev.txt
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/python -m localgw --host $(HOST) --port $(PORT)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

test: $(STAMP)
	bash tests/browser/ensure_chromium.sh
	npm ci --no-audit --no-fund  # axe-core for the accessibility tests (package-lock.json)
	$(BIN)/ruff check .
	$(BIN)/mypy
	node --test tests/js/
	$(BIN)/python -m pytest

# The three deploy paths into MiniStack on 127.0.0.1, each followed by a chat and a
# teardown (tests/deploy; `make test` runs them too, as part of tests/).
test-deploy: $(STAMP)
	$(BIN)/python -m pytest tests/deploy

bench: $(STAMP)
	$(BIN)/python -m bench

package: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" bash infra/package.sh

deploy-chalice: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" bash infra/deploy-chalice.sh $(STAGE)

deploy-cfn: package
	PATH="$(CURDIR)/$(BIN):$$PATH" bash infra/deploy-cfn.sh $(STAGE)

deploy-tf: package
	PATH="$(CURDIR)/$(BIN):$$PATH" bash infra/deploy-tf.sh $(STAGE)

clean:
	rm -rf build .pytest_cache .ruff_cache test-artifacts node_modules
