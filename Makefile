# The habits of this project: demo, test, lint, typecheck, synth, bench.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
OUTDIR ?= cdk.out

export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export ORT_DISABLE_TELEMETRY := 1
export YOLO_OFFLINE := 1
export YOLO_AUTOINSTALL := 0
export PYTHONDONTWRITEBYTECODE := 1

CHROMIUM ?= /usr/bin/chromium

.PHONY: install browser demo test lint typecheck pytest synth bench openapi lock clean

# Creates .venv if missing and installs the locked dependency set (torch/torchvision pinned together).
$(STAMP): pyproject.toml requirements.lock constraints.txt
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.lock -c constraints.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e .
	@touch $(STAMP)

# The IAM policy evaluator of the embedded default (a Node sidecar; see docs/decisions.md), from its lock file.
SIMULATOR := tools/iam-simulate/node_modules/.installed
$(SIMULATOR): tools/iam-simulate/package.json tools/iam-simulate/package-lock.json
	npm ci --prefix tools/iam-simulate --no-audit --no-fund --loglevel=error
	@touch $(SIMULATOR)

install: $(STAMP) $(SIMULATOR)

# The browser tests drive Debian's chromium (Playwright's own browser download is never used). Installed through
# apt when missing and run as root (as CI is); otherwise the tests fail and say how to install it.
browser:
	@test -x $(CHROMIUM) || { if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  for try in 1 2 3; do apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    chromium fonts-dejavu-core >/dev/null && break; echo "apt-get failed (try $$try of 3), retrying"; sleep 20; done; \
	else echo "warning: no $(CHROMIUM) and not root: install Debian's chromium, or the browser tests will fail"; fi; }

demo: install
	$(PY) -m authentic.cli demo

test: install lint typecheck pytest

lint: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(VENV)/bin/lint-imports

typecheck: install
	$(PY) -m mypy src lambdas stacks containers bench app.py tests

pytest: install browser
	$(PY) -m pytest $(PYTEST_ARGS)

# Synthesizes both stacks (cdk-nag runs in the synth; a finding fails it), then lints them: errors fail, warnings show.
synth: install
	$(PY) app.py --outdir $(OUTDIR)
	$(VENV)/bin/cfn-lint --non-zero-exit-code error $(OUTDIR)/*.template.json

bench: install
	$(PY) -m bench

# Regenerates docs/openapi.json from the wiring and the models (a test fails while it is out of date).
openapi: install
	$(PY) -m authentic.openapi docs/openapi.json

# Re-resolve the lock file from pyproject.toml (run after changing a pin).
lock:
	rm -rf .lockvenv && python3 -m venv .lockvenv
	.lockvenv/bin/pip install --quiet -c constraints.txt -e '.[training,inference,cdk,local,dev]'
	.lockvenv/bin/pip freeze --exclude-editable | grep -v '^-e' > requirements.lock
	rm -rf .lockvenv

clean:
	rm -rf $(OUTDIR) .build .pytest_cache .mypy_cache .ruff_cache
