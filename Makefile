# The README's two commands: `make lab` starts the product, `make test` runs every test.
# Both bootstrap their own virtual environment (.venv, with uv) and build what they need.

VENV      := .venv
PY        := $(VENV)/bin/python
UV        := $(VENV)/bin/uv
STAMP     := $(VENV)/.installed
LABEXT    := jupyter_orch/labextension/static
LAB_SRC   := $(wildcard labextension/src/*.ts labextension/src/*.tsx labextension/src/components/*.tsx labextension/style/* labextension/schema/*) labextension/package.json
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)
PORT      ?= 8888
TUTORIALS := tutorials

.PHONY: lab test lint bench browser postgres bubblewrap clean

# Lab opens a git-ignored working copy of the tutorials, so running them changes no tracked file.
lab: $(STAMP) $(LABEXT)
	@mkdir -p $(TUTORIALS)
	@for nb in notebooks/*.ipynb; do [ -e $(TUTORIALS)/$$(basename $$nb) ] || cp $$nb $(TUTORIALS)/; done
	$(VENV)/bin/jupyter lab --ip=127.0.0.1 --port=$(PORT) $(ROOT_FLAG) --ServerApp.root_dir=$(TUTORIALS)

test: $(STAMP) $(LABEXT) browser postgres bubblewrap
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	cd labextension && PATH=$(CURDIR)/$(VENV)/bin:$$PATH jlpm lint && PATH=$(CURDIR)/$(VENV)/bin:$$PATH jlpm test
	$(PY) -m pytest -p no:cacheprovider -rs --ignore=tests/ui
	$(PY) -m pytest -p no:cacheprovider tests/ui
	$(PY) -m pytest -p no:cacheprovider --nbval notebooks --nbval-sanitize-with tests/notebooks/sanitize.cfg -p tests.notebooks.plugin

bench: $(STAMP)
	$(PY) bench/packaging.py
	$(PY) bench/tasks.py
	$(PY) bench/inference.py
	$(PY) bench/loop.py

$(PY):
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check uv

# Bytecode compiled at install: where PYTHONDONTWRITEBYTECODE is set (as in many containers),
# every server, kernel and run would otherwise compile its imports from source each time.
$(STAMP): pyproject.toml | $(PY)
	$(UV) pip install --python $(PY) --compile-bytecode -e '.[test]'
	touch $@

# Rebuild the prebuilt sidebar when its sources change; the editable install links it into lab.
$(LABEXT): $(LAB_SRC) | $(STAMP)
	cd labextension && PATH=$(CURDIR)/$(VENV)/bin:$$PATH jlpm install && PATH=$(CURDIR)/$(VENV)/bin:$$PATH jlpm build:prod
	PATH=$(CURDIR)/$(VENV)/bin:$$PATH $(VENV)/bin/jupyter labextension develop --overwrite . >/dev/null
	touch $@

# Browser tests drive Debian's Chromium (a test tool's own browser download does not work here).
browser:
	@command -v chromium >/dev/null || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }

# Engine and API tests also run on a real PostgreSQL: Debian's server binaries, in a throwaway
# cluster that the test session starts (tests/support/databases.py).
postgres:
	@ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq postgresql >/dev/null; }

# The run sandbox (c.OrchApp.run_sandbox = "bubblewrap") is Debian's bubblewrap; its tests skip,
# saying why, where user namespaces are not allowed.
bubblewrap:
	@command -v bwrap >/dev/null || { apt-get update -qq && apt-get install -y -qq bubblewrap >/dev/null; }

clean:
	rm -rf $(VENV) labextension/node_modules labextension/lib jupyter_orch/labextension
