#!/usr/bin/env bash
# Set up everything uefivars-gui needs on a Debian/Ubuntu machine: the system libraries
# Qt loads, a .venv with the package installed in editable mode (with test and lint
# extras). Idempotent; installs only what is missing. Used by `make run` and `make test`.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
# Qt (PySide6) at run time, offscreen tests, a real window (xcb), fonts, venv support;
# the validators of the desktop entry and AppStream file; Xvfb for `make screenshots`.
SYSTEM_PACKAGES=(
  libglib2.0-0 libgl1 libegl1 libfontconfig1 libxkbcommon0 libdbus-1-3 fonts-dejavu-core
  libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-render-util0
  libxcb-shape0 libxcb-xkb1 libxkbcommon-x11-0 openssl
  desktop-file-utils appstream xvfb xauth
)

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo "$@"
  elif command -v sudo >/dev/null 2>&1 && [ -t 0 ]; then sudo "$@"
  else return 126
  fi
}

if command -v dpkg-query >/dev/null 2>&1; then
  missing=()
  for pkg in "${SYSTEM_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if ! "$PYTHON" -c 'import ensurepip, venv' >/dev/null 2>&1; then
    ver=$("$PYTHON" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
    missing+=("python${ver}-venv")
  fi
  if [ ${#missing[@]} -gt 0 ]; then
    echo "bootstrap: installing system packages: ${missing[*]}"
    if ! { as_root apt-get update -qq && as_root env DEBIAN_FRONTEND=noninteractive \
             apt-get install -y -qq --no-install-recommends "${missing[@]}"; }; then
      echo "bootstrap: cannot install system packages (need root or sudo). Please run:" >&2
      echo "  sudo apt-get install ${missing[*]}" >&2
      exit 1
    fi
  fi
else
  echo "bootstrap: not a Debian/Ubuntu system; make sure Qt's libraries (libGL, libEGL, fontconfig, xkbcommon, xcb-cursor) are installed" >&2
fi

"$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' || {
  echo "bootstrap: Python 3.11 or newer is needed ($PYTHON is $("$PYTHON" --version 2>&1))" >&2; exit 1; }

if [ ! -x .venv/bin/python ]; then
  echo "bootstrap: creating .venv"
  "$PYTHON" -m venv .venv
fi
if [ ! -f .venv/.installed ] || [ pyproject.toml -nt .venv/.installed ]; then
  echo "bootstrap: installing uefivars-gui and its dependencies into .venv"
  .venv/bin/python -m pip install -q --upgrade pip
  # compat: a plain .pth path entry (no import-hook finder), so the CLI starts fast
  .venv/bin/python -m pip install -q -e '.[test,lint]' --config-settings editable_mode=compat
  touch .venv/.installed
fi
