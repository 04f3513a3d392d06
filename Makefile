# uefivars-gui — `make run` starts the application, `make test` runs every test.
# Both set up what is missing first (system packages, .venv, editable install).

VENV := .venv
PY := $(VENV)/bin/python
DEMO := resources/demo/ovmf-ms-secureboot.json

.PHONY: run test bench lint dist screenshots setup clean qemu

setup:
	@scripts/bootstrap.sh

run: setup
	$(VENV)/bin/uefivars-gui $(DEMO)

qemu:
	@scripts/install-qemu.sh || echo "make: QEMU >= 10 could not be installed; tests that need it will be skipped (see the messages above)"

test: setup qemu
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q

lint: setup
	$(VENV)/bin/ruff check uefivars_gui tests
	$(VENV)/bin/mypy

bench: setup
	$(PY) benchmarks/run.py

# Wheel and sdist into dist/ (the wheel carries the desktop entry, AppStream metainfo,
# MIME type and icons under share/; see packaging/README.md).
dist: setup
	@$(PY) -c 'import build' 2>/dev/null || $(PY) -m pip install -q build
	$(PY) -m build --outdir dist .

# PNGs of the real window, one per page, into docs/screenshots/ (needs xvfb and xauth).
screenshots: setup
	$(PY) scripts/screenshots.py --out docs/screenshots

clean:
	rm -rf build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache
