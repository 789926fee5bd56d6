# The two README commands: `make demo` (sweep the bundled simulator, store, write reports) and `make test`.
# Both set everything up on a fresh Debian machine first: apt packages, a venv with the pinned requirements.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
APT_PACKAGES := chromium fonts-noto-cjk maven libsodium23 openssl poppler-utils redis-server
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: setup apt venv demo test bench clean

setup: apt venv

apt:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:$$missing"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing >/dev/null; \
	fi

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt
	@[ -x $(BIN)/python ] || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements.txt
	@touch $@

demo: setup
	$(BIN)/scrapy sweep --simulate

test: setup
	$(BIN)/python -m tests.esnode provision
	@rc=0; $(BIN)/python -m pytest $(PYTEST_ARGS) || rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests"; rc=0; fi; exit $$rc

bench: setup
	$(BIN)/python bench/http_spider.py
	$(BIN)/python bench/detect.py
	$(BIN)/python bench/ocr.py
	$(BIN)/python bench/es.py
	$(BIN)/python bench/clues.py
	$(BIN)/python bench/e2e.py

clean:
	rm -rf var .pytest_cache
