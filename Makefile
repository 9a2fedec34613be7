# The two commands: `make demo` and `make test`. Both set up .venv on a fresh machine first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The CPU build of torch; on this project's machines pip finds the wheel on local disk.
TORCH_SPEC ?= torch==2.13.0

.PHONY: install test demo bench lint clean

$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check "$(TORCH_SPEC)"
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
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

lint: install
	$(BIN)/ruff check lsp_server agent engine indexer tests bench

clean:
	rm -rf $(VENV) build *.egg-info
