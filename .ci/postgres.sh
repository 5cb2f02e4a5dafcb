#!/usr/bin/env bash
# Makes a PostgreSQL server available on loopback for archsmith's PostgreSQL tests.
#
# Idempotent; safe to run again and from several shells at once (a lock serialises runs).
#   1. If $ARCHSMITH_TEST_PG already points at a server that accepts us, use it.
#   2. If a server on 127.0.0.1:$ARCHSMITH_PG_PORT (default 5432) accepts the `postgres`
#      user without a password, use it.
#   3. Otherwise install Debian's `postgresql` if it is missing (root only), create a
#      throw-away cluster (trust auth, listening on 127.0.0.1 only, fsync off) under
#      $ARCHSMITH_PG_DIR (default /var/tmp/archsmith-pg-PORT) owned by the `postgres`
#      user, and start it. A foreign server that already holds the port (e.g. Debian's
#      own `main` cluster, which wants passwords) makes it use the next port instead.
#   4. Create the database `archsmith_test` if missing.
#
# Stdout is exactly one line, `export ARCHSMITH_TEST_PG=postgresql://...`; messages go
# to stderr. Exit status 0 on success, 1 when no server could be made available (the
# PostgreSQL tests then skip with a reason). Use it as:
#     if pg_env=$(.ci/postgres.sh); then eval "$pg_env"; fi
# Stop the cluster it started with:
#     runuser -u postgres -- pg_ctl -D /var/tmp/archsmith-pg-5432/data stop
set -euo pipefail

DB=archsmith_test
PORT0=${ARCHSMITH_PG_PORT:-5432}
HOST=127.0.0.1

log() { echo "postgres.sh: $*" >&2; }
die() { log "$*"; exit 1; }

# -- serialise concurrent runs -------------------------------------------------------
LOCK=${TMPDIR:-/tmp}/archsmith-pg-$(id -u).lock
exec 9>>"$LOCK"
flock -w 120 9 || die "another .ci/postgres.sh holds $LOCK for more than 120 s"

BIN=""
find_bin() {
    # the newest Debian server binaries, else whatever is on PATH
    local d
    d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
    if [[ -n "$d" && -x "$d/initdb" && -x "$d/pg_ctl" ]]; then
        BIN=$d
    elif command -v initdb >/dev/null && command -v pg_ctl >/dev/null; then
        BIN=$(dirname "$(command -v initdb)")
    else
        BIN=""
    fi
}

client() {  # client tool path: the server's bin dir, else PATH
    if [[ -n "$BIN" && -x "$BIN/$1" ]]; then echo "$BIN/$1"; else command -v "$1" || true; fi
}

ready() {  # ready PORT
    local t
    t=$(client pg_isready)
    [[ -n "$t" ]] && "$t" -q -h "$HOST" -p "$1" -U postgres -t 3 >/dev/null 2>&1
}

can_login() {  # can_login PORT: the postgres user gets in without a password
    local t
    t=$(client psql)
    [[ -n "$t" ]] && PGPASSWORD='' PGCONNECT_TIMEOUT=5 "$t" -w -X -q -h "$HOST" -p "$1" \
        -U postgres -d postgres -tAc 'SELECT 1' >/dev/null 2>&1
}

ensure_db() {  # ensure_db PORT
    local t have
    t=$(client psql)
    have=$(PGCONNECT_TIMEOUT=5 "$t" -w -X -h "$HOST" -p "$1" -U postgres -d postgres -tAc \
        "SELECT 1 FROM pg_database WHERE datname = '$DB'")
    if [[ "$have" != 1 ]]; then
        # a concurrent creator may win the race; only fail if the database is still absent
        PGCONNECT_TIMEOUT=5 "$t" -w -X -q -h "$HOST" -p "$1" -U postgres -d postgres \
            -c "CREATE DATABASE $DB" >/dev/null 2>&1 || true
        have=$(PGCONNECT_TIMEOUT=5 "$t" -w -X -h "$HOST" -p "$1" -U postgres -d postgres \
            -tAc "SELECT 1 FROM pg_database WHERE datname = '$DB'")
        [[ "$have" == 1 ]] || die "could not create database $DB on port $1"
        log "created database $DB"
    fi
}

done_with() {  # done_with PORT
    ensure_db "$1"
    echo "export ARCHSMITH_TEST_PG=postgresql://postgres@$HOST:$1/$DB"
    exit 0
}

as_owner() {  # runs a server command as the postgres user when we are root
    if [[ $(id -u) == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

install_server() {
    [[ $(id -u) == 0 ]] || die "PostgreSQL is not installed and we are not root; install \
Debian's postgresql package or set ARCHSMITH_TEST_PG to a server URL"
    command -v apt-get >/dev/null || die "PostgreSQL is not installed and apt-get is missing"
    log "installing Debian's postgresql (apt-get)..."
    local apt=(env DEBIAN_FRONTEND=noninteractive apt-get -y -q -o Dpkg::Use-Pty=0
               --no-install-recommends install postgresql)
    if ! "${apt[@]}" >/dev/null 2>&1 9>&-; then
        log "apt-get install failed; refreshing package lists and retrying"
        env DEBIAN_FRONTEND=noninteractive apt-get -q update >/dev/null 2>&1 || true
        "${apt[@]}" >/dev/null 9>&- || die "apt-get install postgresql failed"
    fi
    find_bin
    [[ -n "$BIN" ]] || die "postgresql installed but initdb/pg_ctl were not found"
}

start_cluster() {  # start_cluster PORT
    local port=$1 base data t0
    base=${ARCHSMITH_PG_DIR:-/var/tmp/archsmith-pg-$port}
    [[ $(id -u) == 0 ]] || base=${ARCHSMITH_PG_DIR:-${TMPDIR:-/tmp}/archsmith-pg-$(id -u)-$port}
    data=$base/data
    if [[ $(id -u) == 0 ]] && ! id postgres >/dev/null 2>&1; then
        useradd --system --no-create-home --shell /usr/sbin/nologin postgres
    fi
    mkdir -p "$base/run"
    [[ $(id -u) == 0 ]] && chown postgres: "$base" "$base/run"
    if [[ ! -s "$data/PG_VERSION" ]]; then
        rm -rf "$data"
        log "initdb $data (trust auth, loopback only)"
        as_owner "$BIN/initdb" -D "$data" -U postgres --auth=trust -E UTF8 --locale=C \
            --no-sync >"$base/initdb.log" 2>&1 || { cat "$base/initdb.log" >&2; die "initdb failed"; }
        cat >>"$data/postgresql.conf" <<EOF

# archsmith test cluster (.ci/postgres.sh): loopback only, no durability needed
listen_addresses = '$HOST'
port = $port
unix_socket_directories = '$base/run'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 100
EOF
    fi
    log "starting PostgreSQL ($data) on $HOST:$port"
    t0=$(date +%s)
    # A server killed with -9 leaves postmaster.pid and, for a few seconds, its dying
    # backends: retry a few times. 9>&-: the server must not inherit (and hold) the lock.
    local attempt
    for attempt in 1 2 3 4 5; do
        if as_owner "$BIN/pg_ctl" -D "$data" -l "$base/server.log" -w -t 60 start \
            >/dev/null 2>&1 9>&-; then
            break
        fi
        if [[ $attempt == 5 ]]; then
            tail -n 20 "$base/server.log" >&2 || true
            die "pg_ctl start failed (log: $base/server.log)"
        fi
        log "start attempt $attempt failed; retrying in 2 s"
        sleep 2
    done
    log "started in $(( $(date +%s) - t0 )) s"
}

# -- 1. an explicitly configured server ------------------------------------------------
find_bin
if [[ -n "${ARCHSMITH_TEST_PG:-}" ]]; then
    t=$(client psql)
    url=${ARCHSMITH_TEST_PG/postgresql+psycopg:/postgresql:}
    if [[ -n "$t" ]] && PGCONNECT_TIMEOUT=5 "$t" -w -X -q "$url" -tAc 'SELECT 1' >/dev/null 2>&1
    then
        log "using ARCHSMITH_TEST_PG"
        echo "export ARCHSMITH_TEST_PG=$ARCHSMITH_TEST_PG"
        exit 0
    fi
    log "ARCHSMITH_TEST_PG=$ARCHSMITH_TEST_PG is not reachable; making a local server"
fi

# -- 2./3. a loopback server we can log in to, else our own cluster --------------------
for port in "$PORT0" "$((PORT0 + 1))"; do
    if ready "$port"; then
        if can_login "$port"; then
            log "a server on $HOST:$port is ready"
            done_with "$port"
        fi
        log "the server on $HOST:$port does not let user postgres in without a password; \
trying port $((port + 1))"
        continue
    fi
    [[ -n "$BIN" ]] || install_server
    start_cluster "$port"
    ready "$port" && can_login "$port" || die "the cluster on port $port does not accept us"
    done_with "$port"
done
die "no usable PostgreSQL port (tried $PORT0 and $((PORT0 + 1)))"
