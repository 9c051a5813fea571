#!/usr/bin/env bash
# Set up this machine (a .venv from requirements.txt) and serve CarePath with gunicorn.
# The first run generates the synthetic dataset (cached under var/); later runs reuse it.
# Host and port follow CAREPATH_HOST / CAREPATH_PORT (default 127.0.0.1:8050).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_venv.sh
ensure_venv requirements.txt

# No users yet (a fresh machine): create the admin and print a one-time password, once.
.venv/bin/python -m app.users first-admin admin

bind="${CAREPATH_HOST:-127.0.0.1}:${CAREPATH_PORT:-8050}"
echo "CarePath: http://${bind}/  (sign in: http://${bind}/login; health: http://${bind}/healthz)"
# --preload loads the data once, before the workers fork, so they share it and
# never generate it twice; --no-control-socket keeps gunicorn 27 out of ~/.gunicorn.
# --limit-request-line 8190 (gunicorn's maximum): links up to that length reach the app, which
# answers a query over app/error_pages.py MAX_QUERY_CHARS with its own "link too long" page.
exec .venv/bin/gunicorn --workers 2 --preload --no-control-socket --limit-request-line 8190 \
  --bind "$bind" wsgi:server
