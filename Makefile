# The two commands the README promises: `make demo` and `make test`.
# Each creates .venv on first use. torch is pinned and installed first: an unpinned torch
# would pull a multi-GB CUDA build. Elsewhere, a CPU build can be had with
#   make TORCH_PIP_ARGS="--index-url https://download.pytorch.org/whl/cpu" demo
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
LSFS := $(VENV)/bin/lsfs
TORCH := torch==2.13.0
TORCH_PIP_ARGS ?=
STAMP := $(VENV)/.installed
DEMO := demo/sample

.PHONY: demo test clean-demo

# The mount tests need FUSE 3 (fusermount3, libfuse3): installed here when missing and we
# are root (CI containers); for anyone else this does nothing and those tests skip.
FUSE_SETUP = command -v fusermount3 >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	apt-get install -y -q fuse3 libfuse3-dev >/dev/null; } || true

$(STAMP): pyproject.toml Makefile
	@$(FUSE_SETUP)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet $(TORCH_PIP_ARGS) $(TORCH)
	$(PY) -m pip install --quiet -e ".[test,demo]"
	touch $(STAMP)

test: $(STAMP)
	@$(FUSE_SETUP)
	$(PY) -m pytest -q

demo: $(STAMP)
	$(PY) scripts/build_demo.py $(DEMO)
	$(LSFS) init $(DEMO)
	@echo; echo '$$ lsfs search "war with Spain over Cuba" -k 3'
	$(LSFS) search "war with Spain over Cuba" -k 3 --root $(DEMO)
	@echo; echo '$$ lsfs grep "income tax" --in speeches/1900s'
	$(LSFS) grep "income tax" --in speeches/1900s --root $(DEMO)
	@echo; echo '$$ lsfs ask "find the two speeches about war with Spain"'
	$(LSFS) ask "find the two speeches about war with Spain" --root $(DEMO)
	@echo; echo '$$ lsfs status'
	$(LSFS) status --root $(DEMO)

clean-demo:
	rm -rf $(DEMO)
