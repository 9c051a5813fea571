#!/usr/bin/env bash
# Set up this machine (a .venv from requirements-dev.txt, Chromium for browser tests)
# and run every test, browser tests included. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_venv.sh
ensure_venv requirements-dev.txt
bash scripts/install_browser.sh

export DASH_TEST_CHROMEPATH=/usr/bin/chromium
exec .venv/bin/python -m pytest --headless tests "$@"
