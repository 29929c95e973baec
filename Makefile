# The two commands of the quick start are `make demo` and `make test`; everything else here is
# what they need. Each step is skipped when its output is newer than its inputs.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
GOVUK_FRONTEND_VERSION := 6.3.0
ASSETS := src/onestory/web/static/govuk
STAMP := $(VENV)/.installed-stamp
# axe-core, the accessibility engine the browser tests inject into every victim page.
AXE_VERSION := 4.11.0
AXE := build/axe/node_modules/axe-core/axe.min.js

.PHONY: demo test lint typecheck pytest clean bench constraints assets

demo: $(STAMP) $(ASSETS)/.version
	$(BIN)/onestory demo

test: $(STAMP) $(ASSETS)/.version $(AXE) lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP) $(ASSETS)/.version $(AXE)
	$(BIN)/pytest -n 2 --dist loadgroup

bench: $(STAMP)
	$(BIN)/python bench/bench_synth.py

# A virtual environment with the pinned dependencies (constraints.txt) and OneStory itself.
$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "OneStory needs Python 3.11 or newer; set PYTHON=python3.x")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $@

# GOV.UK Frontend's built assets, from the npm package, at the version govuk-frontend-jinja targets.
$(ASSETS)/.version: Makefile
	rm -rf build/npm $(ASSETS)
	mkdir -p build/npm $(ASSETS)
	npm install --silent --no-audit --no-fund --prefix build/npm govuk-frontend@$(GOVUK_FRONTEND_VERSION)
	cp -r build/npm/node_modules/govuk-frontend/dist/govuk/assets $(ASSETS)/assets
	cp build/npm/node_modules/govuk-frontend/dist/govuk/govuk-frontend.min.css $(ASSETS)/
	cp build/npm/node_modules/govuk-frontend/dist/govuk/govuk-frontend.min.js $(ASSETS)/
	echo $(GOVUK_FRONTEND_VERSION) > $@

assets: $(ASSETS)/.version

$(AXE): Makefile
	rm -rf build/axe
	mkdir -p build/axe
	npm install --silent --no-audit --no-fund --prefix build/axe axe-core@$(AXE_VERSION)
	touch $@

clean:
	rm -rf $(VENV) build $(ASSETS) .onestory

# Re-pin every dependency to what the virtual environment holds now.
constraints: $(STAMP)
	{ echo "# Pinned versions of every dependency (regenerate with: make constraints)."; \
	  $(BIN)/python -m pip freeze --exclude-editable | grep -v '^onestory'; } > constraints.txt
