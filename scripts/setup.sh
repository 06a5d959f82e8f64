#!/usr/bin/env bash
# Install everything the pipeline needs on Debian 12: system packages, then a virtual
# environment made from Debian's python3 (the only one that can `import uno`).
# Idempotent and quick when nothing is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

DEB_PACKAGES=(libreoffice-writer-nogui libreoffice-calc-nogui python3-uno python3-venv fonts-tlwg-laksaman
              poppler-utils qpdf softhsm2 opensc libnss3-tools chromium chromium-driver)
missing=()
for p in "${DEB_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}" >&2
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

VENV=.venv
stamp="$VENV/.installed-$(sha256sum pyproject.toml | cut -c1-16)"
if [ ! -e "$stamp" ]; then
  echo "setup: preparing the virtual environment in $VENV" >&2
  [ -x "$VENV/bin/python" ] || /usr/bin/python3 -m venv --system-site-packages "$VENV"
  "$VENV/bin/python" -m pip install -q --upgrade pip
  "$VENV/bin/python" -m pip install -q -e '.[test]'
  rm -f "$VENV"/.installed-*
  touch "$stamp"
fi
