# The two commands of the README:   make run   (kedro run on the embedded defaults)
#                                    make test  (the test suite, as CI runs it)
# Both create .venv and install the project with its pinned dependencies on first use.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

export KEDRO_DISABLE_TELEMETRY := 1
export HF_HUB_OFFLINE := 1
export YOLO_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export MPLBACKEND := Agg

.PHONY: run test bench viz install

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip setuptools wheel
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

install: $(BIN)/.installed

run: $(BIN)/.installed
	$(BIN)/kedro run $(ARGS)

test: $(BIN)/.installed
	$(BIN)/python -m pytest $(ARGS)

# Benchmarks compare against peer packages (albumentations, pyimgano): an optional extra.
bench: $(BIN)/.installed
	$(BIN)/pip install --quiet -e '.[test,bench]'
	$(BIN)/python -m benchmarks $(ARGS)

viz: $(BIN)/.installed
	$(BIN)/kedro viz build --include-previews
