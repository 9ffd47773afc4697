# The two entry points a new machine needs:
#   make demo   install into .venv and record the sample hearing (SQLite, no server)
#   make test   install with the dev tools and run lint, types and the whole test suite
# Everything is installed by these targets; nothing has to be on the machine but python3.

PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
PLUGINS = $(wildcard plugins/*/pyproject.toml)
PLUGIN_DIRS = $(patsubst %/pyproject.toml,%,$(PLUGINS))
EDITABLE_PLUGINS = $(foreach p,$(PLUGIN_DIRS),-e $(p))

.PHONY: demo test install install-dev lint typecheck pytest services clean

demo: install
	$(BIN)/hearing demo
	@echo 'Browse the archive in Datasette (the web extra, installed by make install-dev):'
	@echo '  $(BIN)/python -m pip install -e ".[web]"'
	@echo '  $(BIN)/hearing --store hearing-demo/hearings.db publish hearing-demo/site'
	@echo '  $(BIN)/hearing serve hearing-demo/site'

test: install-dev services lint typecheck pytest

install: $(VENV)/.installed

install-dev: $(VENV)/.installed-dev

$(VENV)/.installed: pyproject.toml $(PLUGINS)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[postgres]' $(EDITABLE_PLUGINS)
	touch $@

# The example third-party plugin is installed for the tests as a distribution of its own.
$(VENV)/.installed-dev: $(VENV)/.installed pyproject.toml examples/hearing-language-time/pyproject.toml
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev,postgres,web]' -e examples/hearing-language-time
	touch $@

# PostgreSQL for the store tests, Chromium for the HTML transcript test.
services:
	bash .ci/ensure-postgres
	bash .ci/ensure-chromium

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck:
	$(BIN)/mypy

pytest:
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) hearing-demo .pytest_cache .mypy_cache .ruff_cache
