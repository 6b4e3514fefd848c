# The same targets run locally and in CI (.ci/run calls `make test`).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
export LITELLM_LOCAL_MODEL_COST_MAP := True

.PHONY: venv demo test pytest lint format bench train clean

venv: $(STAMP)  ## create .venv with everything needed to serve, test and train (idempotent)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip setuptools wheel
	$(BIN)/python -m pip install -q -e '.[dev,train,plot,otel]'
	touch $(STAMP)

demo: venv  ## proxy on 127.0.0.1 + local upstream + sample traffic, prints what happened
	$(BIN)/guardrail demo --policy policies/default.yaml

test: venv lint pytest  ## lint, types and the test suite

pytest: venv
	$(BIN)/python -m pytest

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: venv
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: venv  ## benchmarks; results go into docs/benchmarks.md by hand
	$(BIN)/python bench/bench_rules.py
	$(BIN)/python bench/bench_classifier.py
	$(BIN)/python bench/bench_proxy.py

train: venv  ## rebuild classifiers/guard-minilm from ../shared/data (CPU, see classifiers/train/README.md)
	$(BIN)/python -m classifiers.train.all

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
