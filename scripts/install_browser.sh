#!/usr/bin/env bash
# Install Debian's Chromium and chromedriver for the dash_duo browser tests, if missing.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_venv.sh
if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
    echo "installing chromium and chromium-driver ..."
    apt_install chromium chromium-driver
fi
