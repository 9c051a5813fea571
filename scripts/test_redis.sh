# Sourced by test.sh: a throwaway Redis on loopback for the background-job tests (a real Celery
# worker with Redis as broker and result store). Installs Debian's redis-server if missing, runs
# it on 127.0.0.1 and a random port with its working folder in a temp dir, exports
# CAREPATH_TEST_REDIS_URL and stops it and deletes the folder on exit.
# No password and no persistence: the server lives for one test run, listens on loopback only,
# and holds nothing but the tests' own jobs, so nothing needs keeping or protecting on disk.
#
# Its cleanup is chained onto whatever EXIT trap is already set (test_postgres.sh sets
# `trap stop_test_postgres EXIT`): a plain second `trap ... EXIT` would replace that one and
# leave the PostgreSQL cluster running. Call start_test_redis after start_test_postgres.

_add_exit_trap() {
    # `trap -p EXIT` prints a quoted command line that the shell can read back: the existing
    # command is its third word. Run the new cleanup first, then the existing one.
    local cleanup="$1" existing
    eval "set -- $(trap -p EXIT)"
    existing="${3:-}"
    if [ -n "$existing" ]; then
        trap "$cleanup; $existing" EXIT
    else
        trap "$cleanup" EXIT
    fi
}

start_test_redis() {
    if ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-cli >/dev/null 2>&1; then
        echo "installing redis-server ..."
        apt_install redis-server
    fi
    local port tries
    REDIS_TEST_DIR="$(mktemp -d /tmp/carepath-redis.XXXXXX)"
    _add_exit_trap stop_test_redis
    port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    REDIS_TEST_PORT="$port"
    # save "" and appendonly no: no snapshot or log on disk; unixsocket off: TCP on loopback only.
    redis-server --bind 127.0.0.1 --port "$port" --dir "$REDIS_TEST_DIR" --save "" --appendonly no \
        --daemonize yes --pidfile "$REDIS_TEST_DIR/redis.pid" --logfile "$REDIS_TEST_DIR/redis.log" \
        || { cat "$REDIS_TEST_DIR/redis.log" >&2 2>/dev/null; return 1; }
    tries=0
    until [ "$(redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null)" = "PONG" ]; do
        tries=$((tries + 1))
        if [ "$tries" -gt 100 ]; then  # 10 s
            echo "Redis did not answer on 127.0.0.1:$port" >&2
            cat "$REDIS_TEST_DIR/redis.log" >&2 2>/dev/null || true
            return 1
        fi
        sleep 0.1
    done
    export CAREPATH_TEST_REDIS_URL="redis://127.0.0.1:${port}/0"
    export CAREPATH_TEST_REDIS_REQUIRED=1  # the tests fail rather than skip Redis
    echo "Redis for the background-job tests: $CAREPATH_TEST_REDIS_URL"
}

stop_test_redis() {
    if [ -n "${REDIS_TEST_DIR:-}" ] && [ -d "$REDIS_TEST_DIR" ]; then
        local pid="" tries=0
        if [ -f "$REDIS_TEST_DIR/redis.pid" ]; then
            pid="$(cat "$REDIS_TEST_DIR/redis.pid" 2>/dev/null || true)"
        fi
        redis-cli -h 127.0.0.1 -p "${REDIS_TEST_PORT:-0}" shutdown nosave >/dev/null 2>&1 || true
        # Wait for that server (and only that one) to be gone before deleting its folder.
        while [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; do
            tries=$((tries + 1))
            if [ "$tries" -gt 50 ]; then kill -9 "$pid" 2>/dev/null || true; break; fi
            sleep 0.1
        done
        rm -rf "$REDIS_TEST_DIR"
    fi
}
