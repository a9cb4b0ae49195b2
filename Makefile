# rez-agent schedules. `make run` and `make test` are the two commands a newcomer needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAGE ?= dev

.PHONY: venv run-venv ministack-venv lint browser test unit integration clean bench

# Everything, the development tools included (tests, lint, the browser tests).
venv: $(VENV)/.installed

# Only what running needs (`make run`, `make local`): requirements-run.txt, into the same .venv.
run-venv: $(VENV)/.run-installed

# ministack pins its own botocore, so it lives in a virtual environment of its own.
ministack-venv: .venv-ministack/.installed

# pip speaks for itself (one line per package) so a first run shows where it is.
PIP_INSTALL = pip install --disable-pip-version-check --progress-bar off

.venv-ministack/.installed: requirements-ministack.txt
	@echo "==> the local AWS emulator: creating .venv-ministack, installing ministack (requirements-ministack.txt)"
	$(PYTHON) -m venv .venv-ministack
	.venv-ministack/bin/$(PIP_INSTALL) -r requirements-ministack.txt
	touch $@

$(VENV)/.run-installed: requirements.txt requirements-run.txt
	@echo "==> the service: creating $(VENV), installing what running needs (requirements-run.txt)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/$(PIP_INSTALL) -r requirements-run.txt
	touch $@

$(VENV)/.installed: requirements.txt requirements-run.txt requirements-dev.txt
	@echo "==> the development tools: installing requirements-dev.txt into $(VENV)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-run.txt -r requirements-dev.txt
	touch $(VENV)/.run-installed $@

# ruff, then mypy (strict on app.py, chalicelib/ and ops/); both configured in pyproject.toml.
lint: venv
	$(BIN)/ruff check .
	$(BIN)/mypy

# Chromium from the OS packages: Playwright drives it in the console's browser tests
# (Playwright's own browser download is not used).
browser:
	@command -v chromium >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq chromium)

test: venv ministack-venv lint browser
	$(BIN)/python -m pytest tests -n $(UNIT_JOBS)
	$(BIN)/python -m pytest integration $(INTEGRATION_GROUPS)

# The fast layer: every unit test but those marked slow (pyproject.toml). Two processes
# (pytest-xdist), one a core; UNIT_JOBS=0 runs them in this one (and prints the fault
# matrix's table, which a worker process cannot).
UNIT_JOBS ?= 2

unit: venv
	$(BIN)/python -m pytest tests -m "not slow" -n $(UNIT_JOBS)

# Five groups side by side, each with its own emulators (integration/conftest.py): they
# mostly wait for schedules to fire, slots to pass and stacks to settle.
INTEGRATION_GROUPS := -n 5 --dist loadgroup

integration: venv ministack-venv browser
	$(BIN)/python -m pytest integration $(INTEGRATION_GROUPS)

# Every figure of bench/bench_*.py against its baseline and target; writes bench/results.json.
# Not part of `make test` (minutes, not seconds).
bench: venv
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) .pytest_cache build

# --- run locally; deploy to AWS (python -m ops; docs/deploy.md) ---------------------------
.PHONY: run stop deploy destroy

# The whole service on ministack (or on the running endpoint LOCALSTACK_ENDPOINT names), in
# the foreground, streaming the functions' logs until Ctrl-C. RUN_PORT picks ministack's port;
# VERBOSE=1 streams the raw JSON lines instead of one readable line per event.
run: run-venv $(if $(LOCALSTACK_ENDPOINT),,ministack-venv)
	@$(BIN)/python -m ops run $(if $(RUN_PORT),--port $(RUN_PORT)) $(if $(VERBOSE),--verbose)

# The API alone, served by `chalice local` on 127.0.0.1 (LOCAL_PORT, default 8000): against
# the emulator a `make run` started (.run/env), else an embedded moto server with the local
# stage's resources (the API answers; no function applies the commands).
.PHONY: local
local: run-venv
	@$(BIN)/python -m ops local $(if $(LOCAL_PORT),--port $(LOCAL_PORT))

# Stop a run left in the background (its pids are in .run/).
stop:
	@if [ -x $(BIN)/python ]; then $(BIN)/python -m ops stop; else echo "nothing was running"; fi

# AWS (credentials and AWS_REGION from the environment): the stage's resources, then the app.
deploy: venv
	$(BIN)/python -m ops stack deploy --stage $(STAGE)
	$(BIN)/python -m ops app deploy --stage $(STAGE)

destroy: venv
	$(BIN)/python -m ops app destroy --stage $(STAGE)
	$(BIN)/python -m ops stack destroy --stage $(STAGE)

# --- the stage's AWS resources alone (ops/stack); STACK_FLAGS=--adopt to take over ---------
.PHONY: stack-plan stack-deploy stack-destroy integration-stack

stack-plan: venv
	$(BIN)/python -m ops stack plan --stage $(STAGE)

stack-deploy: venv
	$(BIN)/python -m ops stack deploy --stage $(STAGE) $(STACK_FLAGS)

stack-destroy: venv
	$(BIN)/python -m ops stack destroy --stage $(STAGE)

# The stack lifecycle suite alone, on moto and ministack.
integration-stack: venv ministack-venv
	$(BIN)/python -m pytest integration/test_stack_lifecycle.py integration/test_stack_table.py integration/test_stack_topics.py integration/test_stack_role.py
