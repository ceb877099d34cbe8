# The project's commands. `make up` and `make test` work from a fresh clone, offline.
PY := .venv/bin/python

.PHONY: setup up down preview refresh test lint bench emulator

setup:
	@bash scripts/setup.sh

emulator: setup
	@bash scripts/emulator.sh start

# Deploy the local stack against the emulator and print its outputs.
up: emulator
	@$(PY) -m stacks.engine up --stack local

preview: emulator
	@$(PY) -m stacks.engine preview --stack local --diff

refresh: emulator
	@$(PY) -m stacks.engine refresh --stack local

# Destroy the local stack (cancels or cleans up its job) and stop the emulator.
down: emulator
	@$(PY) -m stacks.engine destroy --stack local
	@bash scripts/emulator.sh stop

test: setup lint
	@$(PY) -m pytest

lint: setup
	@$(PY) -m ruff check .
	@$(PY) -m mypy

bench: setup
	@$(PY) bench/bench_dataset.py
