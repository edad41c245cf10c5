# Fresh machine: Python 3.11, Java 17 and Maven are all this needs. Kafka comes from Maven Central,
# ClickHouse is chDB (in-process), Python packages come from PyPI into .venv.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: setup tools demo test faults lint bench clean

$(BIN)/omnimeter: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $@

# the dashboard's Chart.js, served locally (no CDN)
reports/web/node_modules/.package-lock.json: reports/web/package-lock.json
	npm ci --prefix reports/web --no-audit --no-fund --loglevel=error

setup: $(BIN)/omnimeter reports/web/node_modules/.package-lock.json

# promtool and prometheus (Debian's package) for the alert-rule and scrape tests; chromium for the
# dashboard's browser test
tools:
	@command -v promtool >/dev/null || { apt-get update -q && DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -q --no-install-recommends prometheus; }
	@command -v chromium >/dev/null || { apt-get update -q && DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -q chromium; }

demo: setup
	$(BIN)/omnimeter demo

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy --strict omnimeter/schemas omnimeter/pricing omnimeter/sinks

# two test processes: the suite mostly waits on brokers, workers and rebalances (load ~1.3 on 2 cores when
# serial); a module, and the dashboard suite, stays whole in one process (tests/conftest.py)
test: lint tools
	$(BIN)/pytest -q -n 2

faults: setup  # the fault-injection suite alone (also part of `make test`)
	$(BIN)/pytest -q tests/faults

bench: setup
	$(BIN)/python -m bench.run

clean:
	rm -rf $(VENV) .omnimeter
