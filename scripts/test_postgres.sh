# Sourced by test.sh: a throwaway PostgreSQL cluster on loopback for the database tests.
# Installs Debian's postgresql if missing, runs initdb/pg_ctl in a temp dir (as the
# postgres user when we are root: the server refuses to run as root), creates a database,
# exports CAREPATH_TEST_POSTGRES_URL and stops and deletes the cluster on exit. Trust auth is
# fine for a cluster that lives for one test run, bound to 127.0.0.1 and a random port.

_pg_bin() {
    local found
    found="$(command -v "$1" 2>/dev/null || true)"
    if [ -z "$found" ]; then
        found="$(ls -d /usr/lib/postgresql/*/bin/"$1" 2>/dev/null | sort -V | tail -n 1 || true)"
    fi
    echo "$found"
}

_pg_as_owner() {
    if [ "$(id -u)" -eq 0 ]; then
        su postgres -s /bin/sh -c "$*"
    else
        sh -c "$*"
    fi
}

start_test_postgres() {
    if [ -z "$(_pg_bin initdb)" ] || [ -z "$(_pg_bin pg_ctl)" ]; then
        echo "installing postgresql ..."
        apt_install postgresql
    fi
    local initdb pg_ctl port
    initdb="$(_pg_bin initdb)"
    pg_ctl="$(_pg_bin pg_ctl)"
    PG_TEST_DIR="$(mktemp -d /tmp/carepath-pg.XXXXXX)"
    PG_TEST_CTL="$pg_ctl"
    trap stop_test_postgres EXIT
    chmod 755 "$PG_TEST_DIR"
    if [ "$(id -u)" -eq 0 ]; then chown postgres "$PG_TEST_DIR"; fi
    port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    _pg_as_owner "'$initdb' -D '$PG_TEST_DIR/data' -A trust -U carepath --no-sync -E UTF8" >"$PG_TEST_DIR/initdb.log" 2>&1 \
        || { cat "$PG_TEST_DIR/initdb.log" >&2; return 1; }
    _pg_as_owner "'$pg_ctl' -D '$PG_TEST_DIR/data' -l '$PG_TEST_DIR/server.log' -w -o \"-p $port -k $PG_TEST_DIR -c listen_addresses=127.0.0.1 -c fsync=off\" start" >/dev/null \
        || { cat "$PG_TEST_DIR/server.log" >&2; return 1; }
    _pg_as_owner "'$(_pg_bin psql)' -h 127.0.0.1 -p $port -U carepath -d postgres -q -c 'CREATE DATABASE carepath_test'"
    export CAREPATH_TEST_POSTGRES_URL="postgresql+psycopg://carepath@127.0.0.1:${port}/carepath_test"
    export CAREPATH_TEST_POSTGRES_REQUIRED=1  # the tests fail rather than skip PostgreSQL
    echo "PostgreSQL for the database tests: $CAREPATH_TEST_POSTGRES_URL"
}

stop_test_postgres() {
    if [ -n "${PG_TEST_DIR:-}" ] && [ -d "$PG_TEST_DIR" ]; then
        if [ -f "$PG_TEST_DIR/data/postmaster.pid" ]; then
            _pg_as_owner "'$PG_TEST_CTL' -D '$PG_TEST_DIR/data' -m fast -w stop" >/dev/null 2>&1 || true
        fi
        rm -rf "$PG_TEST_DIR"
    fi
}
