# The two commands of the README:   make run   (kedro run on the embedded defaults)
#                                    make test  (the test suite, as CI runs it)
# Both create .venv and install the project with its pinned dependencies on first use, and
# .venv-blender, Blender as a Python module (bpy pins numpy < 2, so it has its own environment),
# for render_backend=blender. `make blender` creates only the latter.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

export KEDRO_DISABLE_TELEMETRY := 1
export HF_HUB_OFFLINE := 1
export YOLO_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export MPLBACKEND := Agg

# bpy 5.0 is built for CPython 3.11 only. BPY may name a local wheel instead of the index's.
BLENDER_PYTHON ?= $(shell command -v python3.11 2>/dev/null || echo $(PYTHON))
BLENDER_VENV   := .venv-blender
BPY_VERSION    := 5.0.1
BPY            ?= bpy==$(BPY_VERSION)
BLENDER_STAMP  := $(BLENDER_VENV)/bin/.installed-bpy-$(BPY_VERSION)

.PHONY: run test lint bench viz install blender

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip setuptools wheel
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

$(BLENDER_STAMP):
	@$(BLENDER_PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else 1)' || \
	  { echo "bpy 5.0 needs Python 3.11: run make BLENDER_PYTHON=/path/to/python3.11"; exit 1; }
	$(BLENDER_PYTHON) -m venv $(BLENDER_VENV)
	$(BLENDER_VENV)/bin/pip install --quiet --upgrade pip
	$(BLENDER_VENV)/bin/pip install --quiet '$(BPY)'
	$(BLENDER_VENV)/bin/python -c 'import bpy, numpy; print("bpy", bpy.app.version_string, "numpy", numpy.__version__)'
	touch $@

blender: $(BLENDER_STAMP)

install: $(BIN)/.installed $(BLENDER_STAMP)

run: $(BIN)/.installed $(BLENDER_STAMP)
	$(BIN)/kedro run $(ARGS)

# the README's test command and CI's (.ci/run): ruff first, then the suite on both cores
# (pytest-xdist; TEST_WORKERS=0 runs it in one process)
TEST_WORKERS ?= 2
test: lint $(BLENDER_STAMP)
	$(BIN)/python -m pytest -n $(TEST_WORKERS) $(ARGS)

# pyflakes, pycodestyle, isort, bugbear, pyupgrade (pyproject.toml [tool.ruff]); `make test` runs it first
lint: $(BIN)/.installed
	$(BIN)/ruff check src tests benchmarks

# Benchmarks compare against peer packages (albumentations, pyimgano): an optional extra.
bench: $(BIN)/.installed
	$(BIN)/pip install --quiet -e '.[test,bench]'
	$(BIN)/python -m benchmarks $(ARGS)

viz: $(BIN)/.installed
	$(BIN)/kedro viz build --include-previews
