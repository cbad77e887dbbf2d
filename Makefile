# learnpath: `make run` starts the platform, `make test` runs the whole suite. Both set themselves up.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: run test check bench screenshots setup setup-dev node-deps system-deps system-deps-test system-deps-bench migrate content superuser clean

run: setup system-deps migrate content
	@echo "learnpath on http://127.0.0.1:8000 (web, Celery worker and beat; Ctrl-C stops all)"
	$(BIN)/honcho start

test: setup-dev system-deps-test node-deps check
	$(BIN)/python -m pytest $(PYTEST_ARGS)

check: setup-dev
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	DJANGO_SETTINGS_MODULE=learnpath.settings.test $(BIN)/python manage.py makemigrations --check --dry-run
	DJANGO_SETTINGS_MODULE=learnpath.settings.test $(BIN)/python manage.py loadcontent --check

bench: setup-dev system-deps-bench
	$(BIN)/python -m bench

# The pages of the first and last day in Chromium, desktop/light and phone/dark, saved for the README (and checked with axe).
screenshots: setup-dev system-deps-test node-deps
	SCREENSHOTS_DIR=docs/screenshots $(BIN)/python -m pytest tests/e2e/test_screenshots.py -q -p no:cacheprovider

setup: $(VENV)/.runtime-installed
setup-dev: $(VENV)/.dev-installed
node-deps: node_modules/.installed

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.runtime-installed: requirements.txt | $(VENV)/bin/python
	$(BIN)/pip install -q -r requirements.txt
	touch $@

$(VENV)/.dev-installed: requirements.txt requirements-dev.txt | $(VENV)/bin/python
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $(VENV)/.runtime-installed $@

# axe-core, which the browser tests inject into every page they check (tests/e2e/axe.py), pinned by package-lock.json.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

# The grader refuses to run without bubblewrap and libseccomp (its seccomp filter); certificate PDFs are
# printed in DejaVu Sans, with Droid Sans Fallback for Chinese, Japanese and Korean names; browser tests
# drive Debian's Chromium, and npm installs axe-core for them (Debian's nodejs comes without npm).
system-deps:
	@command -v bwrap >/dev/null || $(call apt_install,bubblewrap)
	@ldconfig -p | grep -q 'libseccomp\.so\.2' || $(call apt_install,libseccomp2)
	@[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || $(call apt_install,fonts-dejavu-core)
	@[ -f /usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf ] || $(call apt_install,fonts-droid-fallback)

# The endpoint benchmark loads gunicorn with wrk (and needs PostgreSQL, which it does not install).
system-deps-bench: system-deps
	@command -v wrk >/dev/null || $(call apt_install,wrk)

system-deps-test: system-deps
	@command -v chromium >/dev/null || $(call apt_install,chromium)
	@command -v node >/dev/null || $(call apt_install,nodejs)
	@command -v npm >/dev/null || $(call apt_install,npm)

define apt_install
	{ SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq $(1); }
endef

migrate: setup
	$(BIN)/python manage.py migrate --noinput

content: setup
	$(BIN)/python manage.py loadcontent

superuser: setup
	$(BIN)/python manage.py createsuperuser

clean:
	rm -rf var .pytest_cache
