#!/usr/bin/env bash
# A throw-away PostgreSQL server for the class-mode storage tests (CI and local runs).
#
#   .ci/postgres.sh start DIR PORT   initdb in DIR, start on 127.0.0.1:PORT, print the URL
#   .ci/postgres.sh stop DIR         stop it (DIR is left for the caller to delete)
#
# Runs the server as a non-root user (PostgreSQL refuses root): the current user, or
# "postgres" when run as root. Uses Debian's /usr/lib/postgresql/*/bin (apt-get install
# postgresql). Listens on loopback only, trust authentication for the local test user.
set -euo pipefail
BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[[ -n $BIN && -x $BIN/initdb ]] || { echo "PostgreSQL not found (apt-get install postgresql)" >&2; exit 1; }
if [[ $(id -u) = 0 ]]; then RUN=(runuser -u postgres --); PGUSER=postgres; else RUN=(); PGUSER=$(id -un); fi
cmd=$1 dir=$2
case $cmd in
start)
    port=$3
    mkdir -p "$dir"
    [[ ${#RUN[@]} -eq 0 ]] || chown postgres "$dir"
    "${RUN[@]}" "$BIN/initdb" -D "$dir/data" -U "$PGUSER" --auth=trust -E UTF8 >"$dir/initdb.log"
    "${RUN[@]}" "$BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off" start >/dev/null
    echo "postgresql+psycopg://$PGUSER@127.0.0.1:$port/postgres"
    ;;
stop)
    "${RUN[@]}" "$BIN/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null || true
    ;;
*) echo "usage: $0 start DIR PORT | stop DIR" >&2; exit 2 ;;
esac
