# The same targets run locally and in CI (.ci/run calls `make test`).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
# Training and the torch comparisons only: torch + transformers (~2 GB) stay out of .venv,
# which serves, demos, lints and tests without them.
TVENV  := .venv-train
TBIN   := $(TVENV)/bin
TSTAMP := $(TVENV)/.installed-stamp
# Wheels of the runtime dependencies, for tests/install (a fresh venv installed with --no-index).
WHEELHOUSE := .wheelhouse
# Tests that need torch/transformers/faker (they importorskip them in .venv); run in .venv-train.
TRAIN_TESTS := tests/train tests/cli/test_models_export.py
# litellm's own proxy lives in a venv of its own (its [proxy] extra pins conflict with ours;
# 1.108.7 is the newest whose extra installs from the index). Tests and bench use it.
LPVENV := .venv-litellm-proxy
LPSTAMP := $(LPVENV)/.installed-stamp
export LITELLM_LOCAL_MODEL_COST_MAP := True

.PHONY: venv train-venv wheelhouse litellm-proxy-venv browser-deps demo test pytest lint format bench train clean

venv: $(STAMP)  ## .venv: serve, demo, lint and test (no torch; idempotent)

# `guardrail` was the distribution's old name (taken on the package index): remove it first.
$(STAMP): pyproject.toml setup.py
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip setuptools wheel
	! $(BIN)/python -m pip show -q guardrail >/dev/null 2>&1 || $(BIN)/python -m pip uninstall -q -y guardrail
	$(BIN)/python -m pip install -q -e '.[dev,plot,otel]'
	touch $(STAMP)

train-venv: $(TSTAMP)  ## .venv-train: .venv's packages plus torch/transformers, for training

$(TSTAMP): pyproject.toml setup.py
	test -x $(TBIN)/python || $(PYTHON) -m venv $(TVENV)
	$(TBIN)/python -m pip install -q --upgrade pip setuptools wheel
	$(TBIN)/python -m pip install -q -e '.[dev,train]'
	touch $(TSTAMP)

wheelhouse: $(WHEELHOUSE)/.stamp  ## .wheelhouse: wheels of the runtime dependencies

$(WHEELHOUSE)/.stamp: pyproject.toml | $(STAMP)
	mkdir -p $(WHEELHOUSE)
	$(BIN)/python -c 'import tomllib; print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]))' > $(WHEELHOUSE)/requirements.txt
	$(BIN)/python -m pip wheel -q -w $(WHEELHOUSE) -r $(WHEELHOUSE)/requirements.txt
	touch $@

$(LPSTAMP): pyproject.toml
	test -x $(LPVENV)/bin/python || $(PYTHON) -m venv $(LPVENV)
	$(LPVENV)/bin/python -m pip install -q 'litellm[proxy]==1.108.7'
	$(LPVENV)/bin/python -m pip install -q -e . 'litellm[proxy]==1.108.7'
	touch $(LPSTAMP)

litellm-proxy-venv: $(LPSTAMP)  ## litellm's proxy, for the plug-in tests and bench/bench_proxy.py

# The console's browser tests (tests/e2e/test_console_browser.py) drive Debian's chromium and
# chromium-driver with selenium (.venv, [dev]). Best effort, only when chromedriver is missing:
# without root or apt the tests skip, saying why.
browser-deps:  ## chromium + chromium-driver from the distribution, when missing
	@command -v chromedriver >/dev/null 2>&1 || { \
	  [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver >/dev/null || \
	  { apt-get update -q >/dev/null 2>&1 && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver >/dev/null; } || \
	  echo "browser-deps: chromium not installed; the console's browser tests will skip"; }

demo: venv  ## builds .venv only; proxy on 127.0.0.1 + local upstream + sample traffic, prints what happened
	$(BIN)/guardrail demo --policy policies/default.yaml

test: venv lint pytest  ## lint, types and the test suite

# The suite in .venv (the torch tests skip there, saying so), then those tests in .venv-train.
pytest: venv litellm-proxy-venv train-venv wheelhouse browser-deps
	GUARDRAIL_LITELLM_PROXY=$(CURDIR)/$(LPVENV)/bin/litellm \
	  GUARDRAIL_WHEELHOUSE=$(CURDIR)/$(WHEELHOUSE) $(BIN)/python -m pytest
	$(TBIN)/python -m pytest $(TRAIN_TESTS)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: venv
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: venv litellm-proxy-venv train-venv  ## benchmarks; results go into docs/benchmarks.md by hand
	$(BIN)/python bench/bench_rules.py
	$(TBIN)/python bench/bench_classifier.py  # compares ONNX with torch
	$(BIN)/python bench/bench_proxy.py

train: train-venv  ## rebuild classifiers/guard-minilm from ../shared/data (CPU, see classifiers/train/README.md)
	$(TBIN)/python -m classifiers.train.all

clean:
	rm -rf $(VENV) $(TVENV) $(LPVENV) $(WHEELHOUSE) build .pytest_cache .mypy_cache .ruff_cache
