# nbdeploy — the two commands are `make start` and `make test`; both run `setup` first.
# `setup` is idempotent: each step reruns only when its inputs changed.

SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip install --retries 0 --disable-pip-version-check --quiet
NODE_STAMP := node_modules/.nbdeploy-installed
VENV_STAMP := $(VENV)/.nbdeploy-installed
LABEXT_OUT := python-bridge/nbdeploy/labextension
LABEXT_DEST := $(VENV)/share/jupyter/labextensions/nbdeploy
TSLAB_VERSION := 1.0.22
TSLAB_DIR := .tslab
TSLAB := $(TSLAB_DIR)/node_modules/.bin/tslab
TSLAB_STAMP := $(TSLAB_DIR)/.nbdeploy-installed
TSLAB_KERNEL := $(VENV)/share/jupyter/kernels/tslab/kernel.json
# JupyterLab's core package metadata, which the extension is built against (read when used,
# once the venv exists)
JUPYTERLAB_CORE = $(wildcard $(VENV)/lib/python3*/site-packages/jupyterlab/staging/package.json)
PORT ?= 8765
LAB_PORT ?= 8888


.PHONY: setup build labextension tslab start serve test lint test-ts test-python test-ui bench clean chromium postgresql nginx

setup: $(NODE_STAMP) $(VENV_STAMP) build labextension tslab

# npm packages (better-sqlite3 compiles on install; onnxruntime-node's GPU download is
# skipped by .npmrc).
$(NODE_STAMP): package.json package-lock.json .npmrc
	npm ci --no-audit --no-fund
	@touch $@

# The Python environment: the pinned requirements, then the nbdeploy package itself
# (editable) with its Jupyter server extension enabled, as the wheel's shared-data would.
# The venv's own package.json keeps Node from reading Jupyter's bundled yarn.js as an ES
# module (the repository's package.json says "type": "module").
$(VENV_STAMP): requirements-dev.txt python-bridge/pyproject.toml python-bridge/jupyter-config/server-config/nbdeploy.json
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) -r requirements-dev.txt
	$(PIP) --no-deps --no-build-isolation -e python-bridge
	install -D -m 644 python-bridge/jupyter-config/server-config/nbdeploy.json $(VENV)/etc/jupyter/jupyter_server_config.d/nbdeploy.json
	echo '{"type": "commonjs"}' > $(VENV)/package.json
	@touch $@

build: $(NODE_STAMP)
	npx --no-install tsc -b

# The JupyterLab extension: bundled from lib/extension by @jupyter/builder against the
# venv's JupyterLab (its staging package.json is the core metadata, so nothing is
# downloaded), then installed into the venv as the wheel's shared-data installs it.
labextension: $(LABEXT_DEST)/package.json

$(LABEXT_DEST)/package.json: $(NODE_STAMP) $(VENV_STAMP) package.json install.json extension/tsconfig.json extension/webpack.config.cjs $(shell find extension/src style schema -type f 2>/dev/null) | build
	$(VENV)/bin/jupyter-builder build . --core-package-file $(JUPYTERLAB_CORE)
	rm -rf $(LABEXT_DEST)
	cp -r $(LABEXT_OUT) $(LABEXT_DEST)
	cp install.json $(LABEXT_DEST)/

# TypeScript notebooks: the tslab kernel registered in the venv, and `nbdeploy/notebook`
# importable from notebooks in this folder.
tslab: $(TSLAB_KERNEL) node_modules/nbdeploy

# tslab in a prefix of its own: its bundled TypeScript 5.0 would shadow the project's tsc in
# node_modules/.bin. The project's .npmrc goes with it (npm reads the prefix's). Nested, so
# that tslab finds its own @types/node for notebooks outside this folder. zeromq ships Linux
# prebuilds, so nothing compiles.
$(TSLAB_STAMP): .npmrc
	install -D -m 644 .npmrc $(TSLAB_DIR)/.npmrc
	npm install --prefix $(TSLAB_DIR) --no-save --no-package-lock --install-strategy=nested tslab@$(TSLAB_VERSION)
	@touch $@

# The kernel spec goes into the venv (sys-prefix) and starts this checkout's tslab by its
# absolute path, since JupyterLab and nbclient start kernels with whatever PATH they have.
$(TSLAB_KERNEL): $(TSLAB_STAMP) $(VENV_STAMP)
	$(TSLAB) install --python=$(PY) --sys-prefix --binary=$(CURDIR)/$(TSLAB)

# tslab's TypeScript resolves `import ... from "nbdeploy/notebook"` the Node 10 way (through
# node_modules, without package self-reference), so the package links itself there;
# notebook/package.json points that resolution at lib/. Node's runtime reads "exports".
node_modules/nbdeploy: | $(NODE_STAMP)
	ln -sfn .. $@

# Debian's Chromium for the browser tests (Playwright's own browser download cannot work here).
chromium:
	@command -v chromium >/dev/null || { apt-get update -qq && apt-get install -y -qq chromium; }

# Debian's PostgreSQL for the storage suites that run on both backends: each test file starts a
# throwaway server of its own (test/support/postgres.ts), so the packaged cluster is not used.
# Installed only when missing, and only as root; others are told what to run.
postgresql:
	@ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq postgresql; \
	  else echo "PostgreSQL is missing (the storage tests need it): run 'sudo apt-get install postgresql'" >&2; fi; }

# Debian's nginx for the test of the load balancer in docs/scale-out.md (test/support/nginx.ts
# starts one of its own in a temp dir, so the packaged site is not used). Installed only when
# missing, and only as root; others are told what to run.
nginx:
	@test -x /usr/sbin/nginx || command -v nginx >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq nginx; \
	  else echo "nginx is missing (test/integration/nginx.test.ts needs it): run 'sudo apt-get install nginx'" >&2; fi; }

# The service and JupyterLab together, opening a working copy of examples/quickstart.ipynb
# (in my-notebooks/, ignored by git).
start: setup
	node bin/nbdeploy.js lab --port $(LAB_PORT)

serve: setup
	node bin/nbdeploy.js serve --port $(PORT)

test: setup postgresql nginx
	$(MAKE) lint test-ts test-python test-ui

# typescript-eslint with type information, only for promises nobody awaits or misplaced (eslint.config.js).
lint:
	npm run --silent lint

test-ts:
	npx --no-install vitest run

test-python:
	$(PY) -m pytest -q test/python

# Browser end-to-end tests: Galata (on @playwright/test) drives Debian's Chromium through
# the quickstart in a real `nbdeploy lab`; screenshots land in test/output/.
test-ui: setup chromium
	npx --no-install playwright test -c test/ui

bench: setup
	npm run bench

clean:
	rm -rf lib node_modules $(VENV) $(TSLAB_DIR) kernel-service/tsconfig.tsbuildinfo
