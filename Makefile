# Two commands: `make lab` opens the course, `make test` runs every test.
# Both create .venv and install the exact pins of requirements.txt first if needed.
PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

# Offline and quiet: no hub look-ups, no progress bars in stored outputs,
# plotly figures as JSON (same on every machine).
export HF_HUB_OFFLINE ?= 1
export HF_HUB_DISABLE_PROGRESS_BARS ?= 1
export TOKENIZERS_PARALLELISM ?= false
export PLOTLY_RENDERER ?= plotly_mimetype

# JupyterLab refuses to run as root (containers, CI machines) unless told it may
LAB_FLAGS := $(if $(filter 0,$(shell id -u)),--allow-root,)

NBVAL := --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg

.PHONY: lab test setup clean-cache

setup: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Python 3.11 not found as '$(PYTHON)'; run: make PYTHON=/path/to/python3.11 ..."; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $(STAMP)

lab: $(STAMP)
	$(VENV)/bin/jupyter lab $(LAB_FLAGS) notebooks/

test: $(STAMP)
	TQDM_DISABLE=1 $(PY) -m pytest tests notebooks $(NBVAL)

clean-cache:
	rm -rf .cache/splade_helpers
