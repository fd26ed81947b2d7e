# Growth Playbook — `make demo` and `make test` are all a fresh machine needs.
# The environment is a venv made with pip (conda users: environment.yml mirrors it).

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PORT   ?= 8765
SCALE  ?= 1

.DEFAULT_GOAL := help

## help: list the targets
help:
	@grep -E '^## ' $(MAKEFILE_LIST) | sed 's/^## /  /'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (playbook)"
	@$(MAKE) --no-print-directory compile-catalogues fonts
	touch $(STAMP)

LOCALE := src/playbook/locale

## catalogues: extract the strings to translate into locale/playbook.pot and update every .po
catalogues: $(STAMP)
	$(BIN)/pybabel extract -F $(LOCALE)/babel.cfg -k _ -k gettext -k ngettext:1,2 -k pgettext:1c,2 \
		--no-location --sort-output -o $(LOCALE)/playbook.pot .
	@echo "new strings are in $(LOCALE)/playbook.pot: add their translations to the area's .po"

## compile-catalogues: compile every .po into its .mo (built here, never edited; git-ignored)
compile-catalogues:
	@for po in $(LOCALE)/*/LC_MESSAGES/*.po; do \
		$(BIN)/pybabel compile --use-fuzzy -i $$po -o $${po%.po}.mo 2>/dev/null || exit 1; done

## fonts: Noto Sans CJK for charts and pages in Chinese (Debian's fonts-noto-cjk, when root)
fonts:
	@if fc-list 2>/dev/null | grep -q "Noto Sans CJK SC" || [ -f /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing Debian's fonts-noto-cjk for Chinese reports"; \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			--no-install-recommends fonts-noto-cjk >/dev/null; } \
		|| echo "could not install fonts-noto-cjk: Chinese chart labels would lack glyphs"; \
	else \
		echo "fonts-noto-cjk is missing: Chinese reports need it (sudo apt-get install fonts-noto-cjk)"; \
	fi

## setup: create the venv, install the package with its dev tools and a Jupyter kernel
setup: $(STAMP) browser axe

## browser: headless Chromium for the browser tests (Debian's chromium, installed when root)
browser:
	@if command -v chromium >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing Debian's chromium for the browser tests"; \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			--no-install-recommends chromium fonts-dejavu-core >/dev/null; } \
		|| echo "could not install chromium: the browser tests will skip"; \
	else \
		echo "headless Chromium is missing, so the browser tests will skip: install it with"; \
		echo "  sudo apt-get install chromium   (or run make setup as root)"; \
	fi

AXE := .cache/axe/node_modules/axe-core/axe.min.js
## axe: axe-core from the npm registry, for the browser tests' accessibility check (Node.js's npm; Debian's, when root)
axe: $(AXE)
$(AXE):
	@if ! command -v npm >/dev/null 2>&1 && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing Debian's npm for axe-core"; \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends npm >/dev/null; } \
		|| echo "could not install npm: the accessibility check will skip"; fi
	@if command -v npm >/dev/null 2>&1; then \
		npm install --silent --prefix .cache/axe --no-audit --no-fund axe-core@4.10.3 >/dev/null \
		|| echo "could not install axe-core from the npm registry: the accessibility check will skip"; \
	else echo "npm is missing, so the accessibility check will skip: sudo apt-get install npm"; fi

## data: generate the sample warehouse into data/sample (SCALE=1)
data: $(STAMP)
	$(BIN)/playbook demo-data --scale $(SCALE) --out data/sample

## demo: sample warehouse, run the example playbooks, publish the archive, print its path
demo: $(STAMP) fonts
	$(BIN)/playbook demo-data --scale $(SCALE) --out data/sample
	$(BIN)/playbook run --quiet playbooks/*.yml
	$(BIN)/playbook publish
	@# the backlog's confidence is calibrated by the archive's readouts: rank it again on this demo's
	$(BIN)/playbook run --quiet --publish playbooks/next-round-ideas.yml

## test: run the whole test suite (slow simulations excluded: make test-slow), then test-clock
test: $(STAMP) browser fonts axe
	$(BIN)/python -m pytest -n 2 --dist loadfile
	@$(MAKE) --no-print-directory test-clock

## test-clock: the schedule and run-record tests with the clock set to FAKE_DATE (Debian's faketime)
FAKE_DATE ?= 2031-06-01 12:00:00
# the command's name (not FAKETIME: faketime sets that variable in the environment it fakes).
# NO_FAKE_STAT=1: libfaketime's faked stat() made file checks fail now and then in threaded runs
# (2 of 2 whole-suite runs at 2035 had errors; 0 of 2 with it); only the clock is faked.
FAKETIME_CMD ?= faketime
test-clock: $(STAMP)
	@command -v $(FAKETIME_CMD) >/dev/null 2>&1 || [ "$$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1 || { \
	  echo "installing faketime (Debian package) for the clock check"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq faketime) >/dev/null \
	  || echo "could not install faketime"; }
	@if command -v $(FAKETIME_CMD) >/dev/null 2>&1; then \
	  echo "clock check: schedule and run-record tests at $(FAKE_DATE) (faketime)"; \
	  NO_FAKE_STAT=1 $(FAKETIME_CMD) '$(FAKE_DATE)' $(BIN)/python -m pytest -q -n 2 --dist loadfile tests/test_schedule.py tests/test_run.py; \
	else \
	  echo "clock check skipped: faketime is missing; install it with: sudo apt-get install faketime"; \
	fi

## test-slow: also run the large statistical simulations
test-slow: $(STAMP) browser
	$(BIN)/python -m pytest -n 2 --dist loadfile -m ""

## lint: ruff and mypy
lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy

## bench: run the benchmarks and rewrite bench/BENCHMARKS.md
bench: $(STAMP)
	$(BIN)/python bench/run.py

## serve: serve the published archive on http://127.0.0.1:$(PORT) (playbook archive serve)
serve: $(STAMP)
	$(BIN)/playbook archive serve --port $(PORT)

## lab: open JupyterLab on the templates
lab: $(STAMP)
	$(BIN)/jupyter lab notebooks/

## clean: remove outputs, the sample warehouse and caches (keeps the venv)
clean:
	rm -rf outputs/runs outputs/archive data/sample .pytest_cache .ruff_cache .mypy_cache

## distclean: clean, and remove the venv
distclean: clean
	rm -rf $(VENV)

.PHONY: help setup browser axe fonts catalogues compile-catalogues data demo test test-clock test-slow lint bench serve lab clean distclean
