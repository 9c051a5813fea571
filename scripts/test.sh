#!/usr/bin/env bash
# Set up this machine (a .venv from requirements-dev.txt, Chromium for browser tests,
# PostgreSQL for the database tests, Redis for the Celery worker test) and run every test,
# browser tests included.
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
# A throwaway Redis on loopback (installed with apt if missing) for a real Celery worker. Started
# after PostgreSQL: its cleanup is chained onto the EXIT trap start_test_postgres set, so both
# are stopped on exit.
source scripts/test_redis.sh
start_test_redis

export DASH_TEST_CHROMEPATH=/usr/bin/chromium
status=0
.venv/bin/python -m pytest --headless tests "$@" || status=$?
exit "$status"
