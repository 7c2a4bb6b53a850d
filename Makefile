# Two entry points for a new user: `make demo` (the main job on the embedded defaults) and `make test`.
# Both create .venv and install the pinned dependencies by themselves.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
export ASRCTL_HOME ?= $(CURDIR)/.asrctl

.PHONY: demo team-demo test lint bench clean venv

venv: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found; install Python 3.11 or run make PYTHON=/path/to/python3.11" >&2; exit 2; }
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

demo: $(STAMP)
	@echo "== 1/3 mock preview of stack dev (no Azure, no vCenter, no Pulumi CLI)"
	$(BIN)/asrctl preview --stack dev
	@echo "== 2/3 policy check of stack dev"
	$(BIN)/asrctl policy check --stack dev
	@echo "== 3/3 full drill of plan erp on the simulator, with its report"
	$(BIN)/asrctl drill erp --stack dev --auto-approve

# Team mode on this machine: a Temporal dev server, two workers, a drill approved from a second ASRCTL_HOME.
team-demo: $(STAMP)
	BIN=$(BIN) bash demo/team-demo.sh

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/pytest -n 2 -q

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP)
	$(BIN)/python benchmarks/preview_scale.py
	$(BIN)/python benchmarks/runbook_scale.py
	$(BIN)/python benchmarks/runs_list.py
	$(BIN)/python benchmarks/mobility_scale.py
	$(BIN)/python benchmarks/temporal_scale.py

clean:
	rm -rf $(VENV) .asrctl build *.egg-info .pytest_cache
