# zhuoyue — the two commands: `make demo` and `make test`. Both bootstrap .venv via `make install`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Debian packages the tests need: a CJK font and Pango for PDF reports (WeasyPrint), poppler's
# pdftoppm to look at PDF pages; PostgreSQL for the integration tests on the server database;
# Chromium for the browser tests (Playwright drives it); Mosquitto, the MQTT broker of the
# monitoring tests.
DEBIAN_PACKAGES := fonts-noto-cjk libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 poppler-utils \
	postgresql chromium mosquitto

# what `make demo` needs: the CJK font and Pango of the self-declaration PDF, and Mosquitto for the
# live feed of the demo factory (without it the feed skips MQTT)
DEMO_PACKAGES := fonts-noto-cjk libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 mosquitto

.PHONY: install demo test lint typecheck unit bench lock clean debian-packages demo-packages

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet "pip==26.3"
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[all]'
	@touch $(STAMP)

debian-packages:
	@scripts/ensure-debian-packages $(DEBIAN_PACKAGES)

demo-packages:
	@scripts/ensure-debian-packages $(DEMO_PACKAGES)

demo: install demo-packages
	$(BIN)/zhuoyue demo

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: install
	$(BIN)/mypy

unit: install
	$(BIN)/pytest -q

# the doctests of src, then every test (one run over both would import the test folders'
# conftest.py files as doctest modules, which clash by name)
test: install debian-packages lint typecheck
	$(BIN)/pytest -q --doctest-modules src
	$(BIN)/pytest -q tests

bench: install debian-packages
	$(BIN)/python bench/bench_spc.py --json bench/results.json
	$(BIN)/python bench/bench_capability.py --json bench/results_capability.json
	$(BIN)/python bench/bench_assess.py --json bench/results_assess.json
	$(BIN)/python bench/bench_store.py --json bench/results_store.json
	$(BIN)/python bench/bench_web.py --json bench/results_web.json
	$(BIN)/python bench/bench_monitor_state.py
	$(BIN)/python bench/bench_monitor.py --json bench/results_monitor.json

# Re-pin every dependency after changing pyproject.toml.
lock:
	rm -rf /tmp/zhuoyue-lock && $(PYTHON) -m venv /tmp/zhuoyue-lock
	/tmp/zhuoyue-lock/bin/pip install --quiet "pip==26.3"
	/tmp/zhuoyue-lock/bin/pip install --quiet -e '.[all]'
	/tmp/zhuoyue-lock/bin/pip freeze --exclude-editable | grep -v '^zhuoyue' > constraints.txt

clean:
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache .hypothesis
