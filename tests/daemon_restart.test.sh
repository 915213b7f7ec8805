#!/bin/sh
# A party killed with SIGKILL and restarted, again and again, with real daemons
# (scripts/cluster): each time the restarted daemon gets its endpoint back and the next job
# succeeds.  The peers keep reconnecting to the dead party's endpoint meanwhile; on a TCP port
# of the ephemeral range such a reconnect could take the port itself, so that the restart
# failed with "Address already in use" (the clusters use ipc:// endpoints in their directory).
# Then the same with a directory whose path is too long for a socket address (the cluster
# falls back to abstract socket names).
# Prints `ok …` per check; exits non-zero at the first failure.
set -u
BIN=${MPC_BIN:-$(pwd)/bin}
export MPC_BIN="$BIN"
ROUNDS=${MPC_RESTART_ROUNDS:-5}
B=$(mktemp -d /tmp/mpcd-restart.XXXXXX)
D="$B/c"
L="$B/$(printf 'long-directory-name-%.0s' 1 2 3 4 5)"
cleanup() {
    scripts/cluster down --dir "$D" >/dev/null 2>&1
    scripts/cluster down --dir "$L" >/dev/null 2>&1
    rm -rf "$B"
}
trap cleanup EXIT
FAIL_EXTRA="$L/*.log"
. tests/lib.sh

# The dealer makes the material: the restarts are the point, and OT set-up would make each
# round take much longer under the sanitizers.
C=$(scripts/cluster up 3 --prep dealer --dir "$D" --set limits.peer_timeout_ms=2000 --set limits.heartbeat_ms=200) ||
    fail "cluster did not start"
grep -h "endpoint" "$D"/*.ini | grep -v "ipc://$D/" && fail "an endpoint outside the cluster directory"
ok "every endpoint is an ipc:// socket in the cluster directory"
"$BIN/mpc" run examples/secure_sum.mpc --config "$C" --input x=1 --input y=2 --input z=3 | grep -qx "total = 6" ||
    fail "a first job"

i=1
while [ $i -le "$ROUNDS" ]; do
    kill -9 "$(cat "$D/c.pid")" || fail "round $i: kill c"
    sleep 1   # a and b retry c's endpoint meanwhile
    scripts/cluster restart c --dir "$D" > "$D/restart.err" 2>&1 || fail "round $i: restart c: $(cat "$D/restart.err")"
    out=$("$BIN/mpc" run examples/secure_sum.mpc --config "$C" --input x=$i --input y=10 --input z=100 2>&1 | grep -v "^mpc: job [0-9a-f]* submitted$")
    [ "$out" = "total = $((i + 110))" ] || fail "round $i: the job after restarting c: $out"
    i=$((i + 1))
done
grep -i "address already in use\|cannot bind" "$D"/*.log && fail "a daemon could not bind"
ok "c killed and restarted $ROUNDS times: each restart binds and the next job succeeds"

# A directory too long for a socket address (107 bytes): abstract names, the same jobs.
C2=$(scripts/cluster up 2 --prep dealer --dir "$L") || fail "cluster in a long directory did not start"
grep -q "^peer_endpoint = ipc://@mpcd-[0-9a-f]*/a.peer$" "$L/a.ini" || fail "no abstract endpoint: $(grep endpoint "$L/a.ini")"
cat > "$B/two.mpc" <<'P'
party a, b
input x: int from a
input y: int from b
output s = x + y to a, b
P
"$BIN/mpc" run "$B/two.mpc" --config "$C2" --input x=40 --input y=2 | grep -qx "s = 42" || fail "a job in the long directory"
kill -9 "$(cat "$L/b.pid")"
scripts/cluster restart b --dir "$L" > /dev/null 2>&1 || fail "restart b in the long directory"
"$BIN/mpc" run "$B/two.mpc" --config "$C2" --input x=1 --input y=2 | grep -qx "s = 3" || fail "a job after restarting b there"
ok "a cluster in a directory of ${#L} bytes uses abstract socket names and survives a restart"
