# facecourse — the README's commands. `make course` runs the course; `make test` runs the tests.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
CACHE := $(CURDIR)/.cache
PROFILE ?= laptop

# Jupyter, IPython, matplotlib, pip and friends write here, never into $HOME.
export IPYTHONDIR := $(CACHE)/ipython
export JUPYTER_CONFIG_DIR := $(CACHE)/jupyter/config
export JUPYTER_DATA_DIR := $(CACHE)/jupyter/data
export JUPYTER_RUNTIME_DIR := $(CACHE)/jupyter/runtime
export JUPYTER_PLATFORM_DIRS := 1
export MPLCONFIGDIR := $(CACHE)/matplotlib
export XDG_CACHE_HOME := $(CACHE)/xdg
export PIP_CACHE_DIR := $(CACHE)/pip
export TORCHINDUCTOR_CACHE_DIR := $(CACHE)/torchinductor
export PLAYWRIGHT_BROWSERS_PATH := $(CACHE)/playwright
export MPLBACKEND ?= Agg
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: install course test lab exercises bench clean help

help:
	@echo "make course     run every lesson (papermill, PROFILE=$(PROFILE)) into runs/<timestamp>/"
	@echo "make test       unit tests + every notebook in the smoke profile"
	@echo "make lab        JupyterLab on notebooks/"
	@echo "make exercises  regenerate notebooks/ from solutions/"
	@echo "make bench      run bench/ and write bench/results/*.json"

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@mkdir -p $(CACHE)
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[course,test]'
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (facecourse)" >/dev/null
	touch $@

course: install
	$(BIN)/python -m facecourse course --profile $(PROFILE)

test: install
	$(BIN)/python -m pytest -p no:cacheprovider tests

lab: install
	$(BIN)/jupyter lab notebooks/

exercises: install
	$(BIN)/python -m facecourse exercises

bench: install
	$(BIN)/python bench/run_all.py

clean:
	rm -rf runs .cache
