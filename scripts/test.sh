#!/usr/bin/env bash
# Set up this machine (a .venv from requirements-dev.txt, Chromium for browser tests,
# PostgreSQL for the database tests) and run every test, browser tests included.
# Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_venv.sh
ensure_venv requirements-dev.txt
bash scripts/install_browser.sh
# A throwaway PostgreSQL cluster on loopback (installed with apt if missing), stopped on exit;
# the database tests run against it and against SQLite.
source scripts/test_postgres.sh
start_test_postgres

export DASH_TEST_CHROMEPATH=/usr/bin/chromium
status=0
.venv/bin/python -m pytest --headless tests "$@" || status=$?
exit "$status"
