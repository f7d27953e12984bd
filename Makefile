# The two commands of the README: `make book` and `make test`. Both set up .venv first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
READY := $(VENV)/.ready

.PHONY: book test browser bench clean

# The environment, then Matplotlib's font list (kept in .venv: reanalysis/__init__.py), made
# once here rather than by whichever chapter draws first (a slow scan logs a warning into it)
$(READY): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -e .
	$(PY) -c "import reanalysis, matplotlib.font_manager"
	touch $(READY)

book: $(READY)  ## execute changed chapters and build _build/html
	$(PY) -m reanalysis build

test: $(READY)  ## lint, unit tests, data-schema tests, strict nbval of the executed chapters
	$(PY) -m ruff check .
	$(PY) -m pytest -p no:cacheprovider -n auto --dist loadfile tests --ignore=tests/browser --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg book/chapters/*.ipynb

browser: $(READY)  ## open every page of the built site in headless Chromium (after make book)
	command -v chromium >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null)
	$(PY) -m pytest -p no:cacheprovider -n auto --dist loadfile tests/browser

bench: $(READY)  ## time cold build, no-change rebuild and a one-chapter parameter re-run
	$(PY) benchmarks/bench.py

clean:
	rm -rf _build .snakemake
