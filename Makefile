# Chính quyền số — two commands: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PORT   ?= 8000

.PHONY: install run test test-sqlite test-any-day lint openapi bench clean browser screenshots

install: $(VENV)/.installed

$(VENV)/.installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements.txt
	$(BIN)/pip install -q --no-deps -e .
	touch $@

# Demo mode, said explicitly: public demo secrets and the local identity provider are
# accepted (anywhere else the platform refuses to start with them: core/checks.py).
run: export CQS_DEMO = 1
run: export CQS_PUBLIC_URL ?= http://127.0.0.1:$(PORT)
run: install
	$(BIN)/cqs init
	$(BIN)/cqs demo --dossiers 20000 --if-empty
	$(BIN)/cqs monitoring sync --demo
	$(BIN)/cqs monitoring rebuild
	$(BIN)/cqs payments sandbox --port 8100 \
	  --ipn-url "$$CQS_PUBLIC_URL/api/v1/payments/vnpay/ipn" & sandbox=$$!; \
	  $(BIN)/cqs worker & worker=$$!; \
	  trap 'kill $$sandbox $$worker 2>/dev/null' EXIT INT TERM; \
	  $(BIN)/cqs serve --port $(PORT)

lint: install
	$(BIN)/ruff check .

openapi: install
	$(BIN)/cqs openapi --write docs/openapi.json

# What the browser tests need: Debian's Chromium (never a downloaded browser) and axe-core
# from npm (package-lock.json). Without root or network the browser tests are skipped, with
# the reason printed, and the rest of the suite still runs.
browser:
	@command -v chromium >/dev/null || (apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) || \
	  echo "make: không cài được Chromium (cần quyền root): bỏ qua kiểm thử trình duyệt"
	@test -f node_modules/axe-core/axe.min.js || npm ci --no-audit --no-fund --loglevel=error || \
	  echo "make: không cài được axe-core (npm): bỏ qua kiểm thử khả năng tiếp cận"

# The whole suite on the database DATABASE_URL names (SQLite under var/ when unset), in demo
# mode (the servers the tests start use the demo secrets).
test: export CQS_DEMO = 1
test: install lint browser
	$(BIN)/cqs openapi --check docs/openapi.json
	$(BIN)/pytest -q

# The same suite on SQLite, whatever DATABASE_URL says (CI runs both).
test-sqlite: export CQS_DEMO = 1
test-sqlite: install browser
	env -u DATABASE_URL $(BIN)/pytest -q

# The suite on other days (Debian's faketime; every child process inherits it): a weekend,
# a day inside the Tết holiday, and 18:30 UTC on 31/12, already New Year's Day in Vietnam.
# The monotonic clock stays real (libfaketime's faked one stalls Python's timed waits), and
# tests/anyday/sitecustomize.py mends time.sleep in that mode, in every process of the run.
ANY_DAYS ?= 2026-12-05T10:00:00 2027-02-08T10:00:00 2026-12-31T18:30:00
test-any-day: export CQS_DEMO = 1
test-any-day: install browser
	command -v faketime >/dev/null || (apt-get update -qq && apt-get install -y -qq faketime)
	for day in $(ANY_DAYS); do echo "== $$day UTC"; \
	  PYTHONPATH=$(CURDIR)/tests/anyday TZ=UTC FAKETIME_DONT_FAKE_MONOTONIC=1 \
	    faketime "$$(echo $$day | tr T ' ')" $(BIN)/pytest -q -p no:cacheprovider || exit 1; \
	done

# Re-take the screenshots of docs/screenshots/ (the browser journey tests, on SQLite).
screenshots: export CQS_DEMO = 1
screenshots: install browser
	env -u DATABASE_URL CQS_SCREENSHOTS=1 $(BIN)/pytest -q tests/browser/test_journey.py \
	  tests/browser/test_payment_journey.py

clean:
	rm -rf $(VENV) var node_modules

# Benchmarks of docs/performance.md (PostgreSQL on 127.0.0.1:5432; several minutes).
bench: export CQS_DEMO = 1
bench: install
	command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	command -v pgbench >/dev/null || (apt-get update -qq && apt-get install -y -qq postgresql-client)
	$(BIN)/python bench/api_bench.py
