# One task runner: `make run` and `make test` do all the set-up on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin
STAMP = $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run test lint format bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## API + workers + demo data on embedded SQLite and Redis (unless TIERROUTE_DATABASE_URL/REDIS_URL are set)
run: install
	$(BIN)/tierroute demo
	$(BIN)/tierroute up --host $(HOST) --port $(PORT)

## The whole suite: SQLite and PostgreSQL, real Redis; on TEST_WORKERS xdist workers (0: in this process),
## then the 15 slowest tests. Each worker has its own schema and Redis DB (tests/conftest.py).
TEST_WORKERS ?= 4
test: install
	$(BIN)/pytest -n $(TEST_WORKERS) --dist worksteal --durations=15

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: install
	$(BIN)/python bench/intake.py
	$(BIN)/python bench/intake.py --kind email --backend postgres
	$(BIN)/python bench/claim.py
	$(BIN)/python bench/rules.py
	$(BIN)/python bench/mail_intake.py
	$(BIN)/python bench/webhooks.py
	$(BIN)/python bench/sla.py
	$(BIN)/python bench/queue_page.py
	$(BIN)/python bench/report.py
	$(BIN)/python bench/kb.py
	$(BIN)/python bench/chaos.py
	$(BIN)/python bench/chaos.py --backend embedded --tickets 1000

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache
