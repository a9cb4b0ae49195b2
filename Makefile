# rez-agent schedules. `make run` and `make test` are the two commands a newcomer needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAGE ?= dev

.PHONY: venv ministack-venv test unit integration clean

venv: $(VENV)/.installed

# ministack pins its own botocore, so it lives in a virtual environment of its own.
ministack-venv: .venv-ministack/.installed

.venv-ministack/.installed: requirements-ministack.txt
	$(PYTHON) -m venv .venv-ministack
	.venv-ministack/bin/pip install --quiet -r requirements-ministack.txt
	touch $@

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

test: venv ministack-venv
	$(BIN)/python -m pytest tests
	$(BIN)/python -m pytest integration

unit: venv
	$(BIN)/python -m pytest tests

integration: venv ministack-venv
	$(BIN)/python -m pytest integration

clean:
	rm -rf $(VENV) .pytest_cache build
