# The same targets run locally and in CI (.ci/run calls `make test`).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
# litellm's own proxy lives in a venv of its own (its [proxy] extra pins conflict with ours;
# 1.108.7 is the newest whose extra installs from the index). Tests and bench use it.
LPVENV := .venv-litellm-proxy
LPSTAMP := $(LPVENV)/.installed-stamp
export LITELLM_LOCAL_MODEL_COST_MAP := True

.PHONY: venv litellm-proxy-venv demo test pytest lint format bench train clean

venv: $(STAMP)  ## create .venv with everything needed to serve, test and train (idempotent)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip setuptools wheel
	$(BIN)/python -m pip install -q -e '.[dev,train,plot,otel]'
	touch $(STAMP)

$(LPSTAMP): pyproject.toml
	test -x $(LPVENV)/bin/python || $(PYTHON) -m venv $(LPVENV)
	$(LPVENV)/bin/python -m pip install -q 'litellm[proxy]==1.108.7'
	$(LPVENV)/bin/python -m pip install -q -e . 'litellm[proxy]==1.108.7'
	touch $(LPSTAMP)

litellm-proxy-venv: $(LPSTAMP)  ## litellm's proxy, for the plug-in tests and bench/bench_proxy.py

demo: venv  ## proxy on 127.0.0.1 + local upstream + sample traffic, prints what happened
	$(BIN)/guardrail demo --policy policies/default.yaml

test: venv lint pytest  ## lint, types and the test suite

pytest: venv litellm-proxy-venv
	GUARDRAIL_LITELLM_PROXY=$(CURDIR)/$(LPVENV)/bin/litellm $(BIN)/python -m pytest

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: venv
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: venv litellm-proxy-venv  ## benchmarks; results go into docs/benchmarks.md by hand
	$(BIN)/python bench/bench_rules.py
	$(BIN)/python bench/bench_classifier.py
	$(BIN)/python bench/bench_proxy.py

train: venv  ## rebuild classifiers/guard-minilm from ../shared/data (CPU, see classifiers/train/README.md)
	$(BIN)/python -m classifiers.train.all

clean:
	rm -rf $(VENV) $(LPVENV) .pytest_cache .mypy_cache .ruff_cache
