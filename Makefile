# One verb per target. Everything a fresh clone needs is installed from here.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test test-unit bench catalogue check lint clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@echo "Installing Schakel into $(VENV) (first run, or pyproject.toml changed): this takes a minute or two;"
	@echo "the next runs skip it."
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "  - pip itself"
	@$(BIN)/python -m pip install --quiet --upgrade pip
	@echo "  - the backend, the tablet app (Kivy), the test and lint tools (the largest downloads: Kivy, OR-Tools)"
	@$(BIN)/python -m pip install --quiet -e '.[test,mobile,dev]'
	@touch $(STAMP)
	@echo "Installed."

run: install
	$(BIN)/schakel demo

# the suite in parallel processes, one test file at a time each (module fixtures stay in one process)
TEST_WORKERS ?= 3

test: install
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile

test-unit: install
	$(BIN)/python -m pytest -q tests/unit

bench: install
	$(BIN)/schakel bench ingest

# the quality gate: lint, formatting and strict typing; .ci/run runs it before the tests
check: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy --strict backend shared meldkamer_bridge mobile

catalogue: install
	$(BIN)/python -m backend.feitcodes.build

lint: install
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
