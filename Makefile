# The project's commands. `make up` and `make test` work from a fresh clone, offline.
# The pulumi commands are the plain CLI, exactly as a user types them after
# `. .venv/bin/activate` (the venv's `pulumi` carries the project's offline defaults).
PY := .venv/bin/python
PULUMI := .venv/bin/pulumi
STACK := local
# The platform's guardrails (docs/policy.md), on every preview and up.
POLICY := --policy-pack policy

.PHONY: setup lock up down preview refresh outputs test test-fast lint sdk sdks bench bench-engine bench-setup emulator

setup:
	@bash scripts/setup.sh

# Compile the requirement inputs (*.in) into the hashed locks (*.txt) setup and CI install, after
# editing an input; commit both (docs/development.md, "Adding a dependency").
lock:
	@bash scripts/lock.sh

emulator: setup
	@bash scripts/emulator.sh start

# Deploy the local stack against the emulator and print its outputs. The stack file is checked
# and an interrupted earlier `pulumi up` recovered first (its job is adopted, not paid twice).
up: emulator
	@$(PY) -m stacks.engine prepare --stack $(STACK)
	@$(PULUMI) up --yes --stack $(STACK) $(POLICY)
	@$(MAKE) --no-print-directory outputs

outputs:
	@echo "Outputs of stack $(STACK):"
	@$(PULUMI) stack output --json --stack $(STACK)

preview: emulator
	@$(PY) -m stacks.engine prepare --stack $(STACK)
	@$(PULUMI) preview --diff --stack $(STACK) $(POLICY)

refresh: emulator
	@$(PY) -m stacks.engine prepare --stack $(STACK)
	@$(PULUMI) refresh --yes --stack $(STACK)

# Destroy the local stack (cancels or cleans up its job) and stop the emulator. An interrupted
# earlier `pulumi up` is recovered first, so that its job is destroyed too, not left running.
down: emulator
	@$(PY) -m stacks.engine prepare --stack $(STACK)
	@$(PULUMI) destroy --yes --stack $(STACK)
	@bash scripts/emulator.sh stop

# The whole suite, in parallel (pytest.ini), the slowest tests listed at the end: what CI runs.
test: setup lint
	@$(PY) -m pytest

# The edit-test loop: everything but the real CLI and the installed wheel (about a minute).
test-fast: setup
	@$(PY) -m pytest -m "not engine" --ignore=tests/packaging

lint: setup
	@$(PY) -m ruff check .
	@$(PY) -m mypy

# Regenerate the typed SDK (tuning_provider/resource.py), docs/reference.md and the provider
# plugin's schema (tuning_provider/plugin/schema.json) from tuning_provider/spec/, after adding
# or changing a field there; commit them.
sdk: setup
	@$(PY) -m tools.codegen
	@$(PY) -m tools.plugin_schema
	@$(MAKE) --no-print-directory sdks

# Regenerate the TypeScript and Go SDKs (sdk/nodejs, sdk/go) from the plugin's schema, as
# `pulumi package gen-sdk` writes them (tools/sdkgen, built with Go once per machine); commit them.
sdks:
	@sdkgen="$$(bash scripts/install-sdkgen.sh)" && "$$sdkgen"

bench: setup
	@$(PY) bench/bench_dataset.py

# TuningJobs through the real engine against an in-process emulator: 1 vs N jobs (separate
# resources, a sweep), preview cost, completion latency, the validate process (~5 minutes).
bench-engine: setup
	@$(PY) bench/bench_engine.py

# Issue 29's setup figures from fresh clones of HEAD: `make setup` twice, `make up` (needs port
# 8765 free); ARGS=--test adds `make test` (several minutes).
bench-setup:
	@bash bench/bench_setup.sh $(ARGS)
