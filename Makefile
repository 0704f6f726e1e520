# ci_inpaint: every target creates or updates .venv itself, then runs inside it.
#   make reproduce   run every notebook (quick profile) -> runs/reproduce-<timestamp>/index.md
#   make test        ruff + pytest + nbval over every notebook (smoke profile)
#   make study       every notebook with the study profile -> docs/results/<notebook>.md
#   make lab         JupyterLab on notebooks/ with this environment as the kernel
#   make explore     the DivCo and ContrasFill latent explorers as a web page (Voila)
# .venv/.stamp is newer than pyproject.toml once the install succeeded, so a second call does
# no pip work. PY picks the interpreter that creates the venv (make test PY=python3.12).

PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.stamp
LINT := ci_inpaint tests data_scripts benchmarks $(wildcard notebooks/*.py)
NOTEBOOKS := $(wildcard notebooks/[0-9][0-9]_*.ipynb)
# seconds per test (pytest-timeout) and per notebook cell under nbval
TEST_TIMEOUT ?= 600
NBVAL_TIMEOUT ?= 120
# extra options for pip install, e.g. PIP_ARGS="--find-links /my/wheels"
PIP_ARGS ?=
# extra options for jupyter lab, e.g. LAB_ARGS="--no-browser --port 8899"
LAB_ARGS ?=
# kernel name "python3" resolves to this venv's ipykernel first (see docs/notebooks.md)
export JUPYTER_PATH := $(abspath $(VENV))/share/jupyter$(if $(JUPYTER_PATH),:$(JUPYTER_PATH))

.PHONY: test reproduce study lab notebooks sync lint venv clean-venv explore

venv: $(STAMP)

$(STAMP): pyproject.toml
	@command -v $(PY) >/dev/null || \
		{ echo "no $(PY) on PATH: install Python >= 3.10, or pass PY=/path/to/python3" >&2; exit 1; }
	@$(PY) -c 'import sys; v = sys.version_info; sys.exit(0 if v >= (3, 10) else \
		f"ci_inpaint needs Python >= 3.10, but $(PY) is {v.major}.{v.minor}: install a newer " \
		"Python and run e.g. make test PY=python3.12")'
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	@# editable installs from pyproject.toml (PEP 660) need a newer pip than old ensurepip gives
	$(BIN)/python -m pip install --quiet "pip>=23.1"
	$(BIN)/python -m pip install --progress-bar off $(PIP_ARGS) -e ".[dev]"
	@touch $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check $(LINT)

test: lint
	$(BIN)/python -m pytest tests --timeout=$(TEST_TIMEOUT)
	$(if $(NOTEBOOKS),CI_INPAINT_PROFILE=smoke CI_INPAINT_QUIET=1 $(BIN)/python -m pytest \
		--nbval-lax --nbval-current-env --nbval-cell-timeout=$(NBVAL_TIMEOUT) \
		--nbval-sanitize-with notebooks/nbval_sanitize.cfg --timeout=$(NBVAL_TIMEOUT) \
		$(NOTEBOOKS),@echo "no notebooks to check")

reproduce: $(STAMP)
	$(BIN)/ci-inpaint notebooks run --profile quick --out runs/reproduce-$$(date +%Y%m%d-%H%M%S)

# every notebook with the study profile (every variant, 8 seeds; <= 30 min each on 2 cores),
# then one page per notebook in docs/results/ (commit them: they are the study reports)
study: $(STAMP)
	run=runs/study-$$(date +%Y%m%d-%H%M%S); \
	$(BIN)/ci-inpaint notebooks run --profile study --out $$run; rc=$$?; \
	$(BIN)/python -m ci_inpaint.toolchain.report $$run --pages docs/results; exit $$rc

lab: $(STAMP)
	$(BIN)/jupyter lab $(LAB_ARGS) notebooks/

# the latent explorers (notebooks/explorer.ipynb) as a page, served by Voila; its options go
# through EXPLORE_ARGS, e.g. make explore EXPLORE_ARGS="--no-browser --port 8870". The
# jupytext lab extension is left out: it fails to load in Voila's page (a console error).
EXPLORE_ARGS ?=
explore: $(STAMP)
	$(BIN)/voila --progressive_rendering=True \
		--VoilaConfiguration.extension_denylist=jupyterlab-jupytext $(EXPLORE_ARGS) \
		notebooks/explorer.ipynb

# re-execute every notebook (quick profile) and store its outputs in the committed .ipynb
notebooks: $(STAMP)
	$(BIN)/python -m ci_inpaint.notebooks execute --profile quick

# rewrite each .ipynb from its .py source, keeping the outputs of unchanged cells
sync: $(STAMP)
	$(BIN)/python -m ci_inpaint.notebooks sync

clean-venv:
	rm -rf $(VENV)
