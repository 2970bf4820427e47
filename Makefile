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
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: install browser course book test lab exercises bench clean help

help:
	@echo "make course     run every lesson (papermill, PROFILE=$(PROFILE)) into runs/<timestamp>/"
	@echo "make book       the newest run as an HTML site in runs/<timestamp>/book/ (RUN=runs/<ts> for another)"
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

# `make course` writes the book too; this rebuilds it (the newest run, or RUN=runs/<timestamp>).
book: install
	$(BIN)/python -m facecourse book $(RUN)

# The notebooks run twice: through papermill (tests/notebooks, parameters injected) and through
# nbval (`--nbval-lax solutions`, profile from FACECOURSE_PROFILE since nbval takes no parameters).
test: install browser
	$(BIN)/python -m facecourse.data prepare-real --profile smoke
	FACECOURSE_PROFILE=smoke $(BIN)/python -m pytest -p no:cacheprovider --nbval-lax tests solutions

# Headless Chromium for the widget test in a real browser (Debian's package; Playwright drives it).
browser:
	@mkdir -p $(CACHE)
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing Debian's chromium for the browser test ..."; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >$(CACHE)/apt.log 2>&1 \
	      || echo "could not install chromium (see $(CACHE)/apt.log): the browser test will say so"; \
	  else echo "no chromium: install it (e.g. apt-get install chromium) to run the browser test"; fi; }

lab: install
	$(BIN)/jupyter lab notebooks/

exercises: install
	$(BIN)/python -m facecourse exercises

bench: install
	$(BIN)/python bench/run_all.py

clean:
	rm -rf runs .cache
