# server-lib.sh: sourced by the shell client suites (memccapable.sh,
# test_clients.sh) to run the server under test on a free loopback port.
#
#   server_start [flags...]  starts $BIN -l 127.0.0.1 -p <port> -U 0 [flags]
#                            (-u root when root: both servers refuse root
#                            without it), retried START_TRIES times; sets
#                            $port and $pid, returns 1 when it never answers
#   server_stop              SIGTERM, a bounded wait, then SIGKILL
START_TRIES=5
START_POLLS=50        # x 0.1 s for the port to answer, and for a stop
pid=
port=

# A random port nobody answers on; a start that fails anyway is retried.
free_port() {
    local p
    while :; do
        p=$(( 20000 + RANDOM % 40000 ))
        (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
    done
}

server_stop() {
    [ -n "$pid" ] || return 0
    local i=0
    kill -TERM "$pid" 2>/dev/null
    while kill -0 "$pid" 2>/dev/null && [ $i -lt $START_POLLS ]; do sleep 0.1; i=$((i + 1)); done
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    pid=
}

server_start() {
    local userflag= try=0 i
    [ "$(id -u)" = 0 ] && userflag="-u root"
    while [ $try -lt $START_TRIES ]; do
        try=$((try + 1))
        port=$(free_port)
        # shellcheck disable=SC2086
        "$BIN" -l 127.0.0.1 -p "$port" -U 0 $userflag "$@" >/dev/null 2>&1 &
        pid=$!
        i=0
        while [ $i -lt $START_POLLS ] && kill -0 "$pid" 2>/dev/null; do
            (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
            sleep 0.1
            i=$((i + 1))
        done
        server_stop
    done
    return 1
}
