#!/usr/bin/env bash
# Run K optlab Streamlit processes behind nginx (sticky sessions, websocket upgrade).
#
#   deploy/run_cluster.sh K PORT        e.g. deploy/run_cluster.sh 2 8501
#
# Backends listen on free ports of 127.0.0.1; nginx listens on $OPTLAB_LISTEN:PORT
# (127.0.0.1 unless set; use 0.0.0.0 to serve a classroom network). The nginx config is
# generated from deploy/nginx.conf.template into a run directory (a new temp dir unless
# OPTLAB_RUN_DIR is set) with its own pid file, logs and temp paths: no system config is read
# or written. Prints "ready URL" once nginx answers, then stays in the foreground as a small
# supervisor: a backend that dies is started again on its port (its students' pages
# reconnect; nginx sends them to a backup backend meanwhile); if nginx dies, or a backend
# keeps dying, everything stops. Ctrl-C or SIGTERM stops everything. The run directory keeps
# the logs and a "pids" file ("PID NAME" per line, kept current) for monitoring.
#
# Environment: OPTLAB_PYTHON (default: .venv/bin/python if present, else python3),
# OPTLAB_LISTEN, OPTLAB_RUN_DIR, NGINX (default: nginx), OPTLAB_JAX_CACHE (shared by all).
set -euo pipefail

if [[ $# -ne 2 || ! $1 =~ ^[1-9][0-9]*$ || ! $2 =~ ^[0-9]+$ ]]; then
    echo "usage: $0 K PORT   (K >= 1 Streamlit processes, nginx on PORT)" >&2
    exit 2
fi
K=$1
PORT=$2
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
if [[ -n ${OPTLAB_PYTHON:-} ]]; then PY=$OPTLAB_PYTHON
elif [[ -x $ROOT/.venv/bin/python ]]; then PY=$ROOT/.venv/bin/python
else PY=python3; fi
NGINX=${NGINX:-nginx}
LISTEN=${OPTLAB_LISTEN:-127.0.0.1}
RUN_DIR=${OPTLAB_RUN_DIR:-$(mktemp -d -t optlab-cluster.XXXXXX)}
mkdir -p "$RUN_DIR/tmp"
RUN_DIR=$(cd "$RUN_DIR" && pwd)
command -v "$NGINX" >/dev/null || { echo "nginx not found (apt-get install nginx)" >&2; exit 1; }

declare -a PORTS BACKEND NGINX_PID=()
cleanup() {
    trap - EXIT INT TERM
    local pid
    for pid in "${BACKEND[@]}" "${NGINX_PID[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${BACKEND[@]}" "${NGINX_PID[@]}"; do wait "$pid" 2>/dev/null || true; done
    echo "stopped; logs in $RUN_DIR" >&2
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

wait_http() {  # URL SECONDS: until the URL answers "ok"
    "$PY" - "$1" "$2" <<'EOF'
import sys, time, urllib.request
url, deadline = sys.argv[1], time.monotonic() + float(sys.argv[2])
while time.monotonic() < deadline:
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            if r.read().strip() == b"ok":
                sys.exit(0)
    except OSError:
        time.sleep(0.3)
sys.exit(f"{url} did not answer within {sys.argv[2]} s")
EOF
}

write_pids() {
    local i
    { for i in "${!PORTS[@]}"; do echo "${BACKEND[$i]} streamlit:${PORTS[$i]}"; done
      [[ ${#NGINX_PID[@]} -eq 0 ]] || echo "${NGINX_PID[0]} nginx"; } >"$RUN_DIR/pids.new"
    mv "$RUN_DIR/pids.new" "$RUN_DIR/pids"
}

start_backend() {  # INDEX: (re)start backend INDEX on its port
    local p=${PORTS[$1]}
    # Server settings come from $ROOT/.streamlit/config.toml; only the port differs.
    PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}" "$PY" -m streamlit run "$ROOT/app.py" \
        --server.port "$p" >>"$RUN_DIR/streamlit-$p.log" 2>&1 &
    BACKEND[$1]=$!
}

# K free ports for the backends (asked of the kernel, all held until all are known).
read -r -a PORTS <<<"$("$PY" - "$K" <<'EOF'
import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
)"

SERVERS="" ADDR_MAP="" NODE_MAP="" NODE_UPSTREAMS=""
for i in "${!PORTS[@]}"; do
    p=${PORTS[$i]} n=b$((i + 1))
    start_backend "$i"
    SERVERS+="        server 127.0.0.1:$p max_fails=1 fail_timeout=5s;"$'\n'
    ADDR_MAP+="        127.0.0.1:$p $n;"$'\n'
    NODE_MAP+="        $n optlab_$n;"$'\n'
    NODE_UPSTREAMS+="    upstream optlab_$n {"$'\n'"        server 127.0.0.1:$p max_fails=1 fail_timeout=5s;"$'\n'
    for q in "${PORTS[@]}"; do
        [[ $q == "$p" ]] || NODE_UPSTREAMS+="        server 127.0.0.1:$q backup;"$'\n'
    done
    NODE_UPSTREAMS+="    }"$'\n'
done
write_pids
for p in "${PORTS[@]}"; do wait_http "http://127.0.0.1:$p/_stcore/health" 120; done

USER_LINE=""
if [[ $(id -u) -eq 0 ]]; then  # workers drop to nobody; they need the temp dirs
    group=nogroup; getent group nogroup >/dev/null || group=nobody
    USER_LINE="user nobody $group;"
    chmod 755 "$RUN_DIR"; chmod 777 "$RUN_DIR/tmp"
fi
CONF="$RUN_DIR/nginx.conf"
while IFS= read -r line; do
    case $line in
        @@SERVERS@@) printf '%s' "$SERVERS" ;;
        @@ADDR_MAP@@) printf '%s' "$ADDR_MAP" ;;
        @@NODE_MAP@@) printf '%s' "$NODE_MAP" ;;
        @@NODE_UPSTREAMS@@) printf '%s' "$NODE_UPSTREAMS" ;;
        *) line=${line//@@USER_LINE@@/$USER_LINE}; line=${line//@@RUN_DIR@@/$RUN_DIR}
           line=${line//@@LISTEN@@/$LISTEN}; line=${line//@@PORT@@/$PORT}
           printf '%s\n' "$line" ;;
    esac
done <"$HERE/nginx.conf.template" >"$CONF"
"$NGINX" -t -q -p "$RUN_DIR" -c "$CONF" -g "daemon off;" 2>>"$RUN_DIR/nginx-error.log" || {
    cat "$RUN_DIR/nginx-error.log" >&2; exit 1; }
"$NGINX" -p "$RUN_DIR" -c "$CONF" -g "daemon off;" &
NGINX_PID=("$!")
write_pids
wait_http "http://127.0.0.1:$PORT/_stcore/health" 30
echo "ready http://$LISTEN:$PORT/ ($K backends: ${PORTS[*]}; run dir $RUN_DIR)"

# Supervise until a signal arrives: restart a backend that exits (at most 5 times within a
# minute each), stop everything if nginx exits.
declare -a RESTARTS
while true; do
    gone=""
    wait -n -p gone || true
    [[ -n $gone ]] || continue
    if [[ $gone == "${NGINX_PID[0]}" ]]; then
        echo "nginx exited; stopping the cluster" >&2
        exit 1
    fi
    for i in "${!PORTS[@]}"; do
        [[ ${BACKEND[$i]} == "$gone" ]] || continue
        now=$(date +%s)
        RESTARTS[$i]="$(for t in ${RESTARTS[$i]:-}; do ((now - t < 60)) && echo "$t"; done) $now"
        if [[ $(wc -w <<<"${RESTARTS[$i]}") -gt 5 ]]; then
            echo "backend ${PORTS[$i]} keeps exiting; stopping the cluster" >&2
            exit 1
        fi
        echo "backend ${PORTS[$i]} exited; restarting it" >&2
        sleep 1
        start_backend "$i"
        write_pids
    done
done
