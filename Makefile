# Two commands: `make run` (install, then open the workbench) and `make test` (install, then run every test).
# Both make ./.venv from requirements.txt on first use and again whenever requirements.txt changes.
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed
PORT ?= 8501
# Nothing reaches for the network at run time (Ultralytics offline, no auto-pip, W&B offline by default):
# app.py and tests/conftest.py apply omr_core/offline.py's defaults, the one place they are written.

.PHONY: run test install browser

install: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet -r requirements.txt
	$(VENV)/bin/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

# Debian's Chromium for the real-browser test (never `playwright install`: no browser downloads here).
browser:
	@test -x /usr/bin/chromium || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -q && $$SUDO apt-get install -y -q chromium; }

run: install
	@HEADLESS=true; { [ -n "$$DISPLAY" ] || [ "$$(uname)" = Darwin ]; } && HEADLESS=false; \
	echo "ScoreEye Symbol Workbench on http://localhost:$(PORT) (first start makes ./workspace: ~30 s)"; \
	$(VENV)/bin/python -m streamlit run app.py --server.port $(PORT) --server.headless $$HEADLESS

test: install browser
	$(VENV)/bin/python -m pytest
