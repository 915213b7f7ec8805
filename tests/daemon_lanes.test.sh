#!/bin/sh
# Direct lanes between real daemons (scripts/cluster up; docs/transport.md, "Direct lanes"): jobs
# are right and their messages travel on the lanes, the dealer's material included (the metrics
# say so);
# a party killed and restarted gets its lane back, whether it is the higher index (its peer
# connects to it again) or the lower one (its peer accepts it again), and the next jobs are
# right and use the lane; a party whose configuration names a wrong lane endpoint for its
# peer gets no lane, and jobs are still right over ZeroMQ.
# Prints `ok …` per check; exits non-zero at the first failure.
set -u
BIN=${MPC_BIN:-$(pwd)/bin}
export MPC_BIN="$BIN"
D=$(mktemp -d /tmp/mpcd-lanes.XXXXXX)
cleanup() {
    scripts/cluster down --dir "$D" >/dev/null 2>&1
    rm -rf "$D"
}
trap cleanup EXIT
. tests/lib.sh

# The dealer makes the material (faster restarts); each party has a lane with the other and
# with the dealer.
C=$(scripts/cluster up 2 --direct --prep dealer --dir "$D" --set mpcd.metrics_endpoint=127.0.0.1:0 \
    --set limits.heartbeat_ms=200 --set limits.peer_timeout_ms=2000) || fail "cluster did not start"
grep -q "^direct_endpoint = ipc://$D/b.lane.sock$" "$D/a.ini" || fail "no lane endpoint for b in a.ini"
grep -q "^dealer_direct_endpoint = ipc://$D/dealer.lane.sock$" "$D/a.ini" || fail "no lane endpoint for the dealer"
for p in a b dealer; do grep -q "direct lanes up with 2 peers" "$D/$p.log" || fail "$p logged no lanes"; done

cat > "$D/prog.mpc" <<'P'
party a, b
input x: int from a
input y: int from b
output s = x * y + x * x * y to a, b
P
# job X Y: runs the program and checks s = X*Y + X*X*Y
job() {
    out=$("$BIN/mpc" run "$D/prog.mpc" --config "$C" --input x="$1" --input y="$2" 2>&1 |
          grep -v "^mpc: job [0-9a-f]* submitted$")
    [ "$out" = "s = $(($1 * $2 + $1 * $1 * $2))" ] || fail "job x=$1 y=$2: $out"
}
port() { sed -n 's/.*metrics endpoint 127\.0\.0\.1:0 listening on port \([0-9]*\):.*/\1/p' "$D/$1.log" | tail -n 1; }
# metric PARTY NAME: the value of an unlabelled metric on PARTY's /metrics
metric() {
    curl -s --max-time 5 "http://127.0.0.1:$(port "$1")/metrics" | sed -n "s/^$2 \([0-9]*\)$/\1/p"
}
# wait_lane PARTY MADE: waits (10 s at most) until PARTY has its 2 lanes up and has made MADE
wait_lane() {
    i=0
    while [ $i -lt 100 ]; do
        [ "$(metric "$1" mpcd_direct_lanes)" = 2 ] && [ "$(metric "$1" mpcd_direct_lanes_made_total)" = "$2" ] && return 0
        sleep 0.1
        i=$((i + 1))
    done
    fail "$1: lanes $(metric "$1" mpcd_direct_lanes), made $(metric "$1" mpcd_direct_lanes_made_total), want 2 and $2"
}

job 6 7
job 3 11
for p in a b dealer; do
    [ "$(metric $p mpcd_direct_lanes)" = 2 ] || fail "$p: mpcd_direct_lanes is not 2"
    sent=$(metric $p mpcd_direct_messages_sent_total)
    [ "${sent:-0}" -gt 0 ] || fail "$p sent nothing on its lanes"
    [ "$(metric $p mpcd_direct_messages_received_total)" -gt 0 ] || fail "$p received nothing on its lanes"
done
ok "two jobs right, every lane up and carrying messages ($sent sent by the dealer)"

# restart_lane P OTHER X Y WHAT: P killed and restarted; OTHER then has made its lane to P
# again (3 in all: P's first, the dealer's, P's second) and P its two, the job (X, Y) is right
# and P sends on its new lanes.
restart_lane() {
    kill -9 "$(cat "$D/$1.pid")" || fail "kill $1"
    scripts/cluster restart "$1" --dir "$D" > "$D/restart.err" 2>&1 || fail "restart $1: $(cat "$D/restart.err")"
    wait_lane "$2" 3
    wait_lane "$1" 2
    job "$3" "$4"
    [ "$(metric "$1" mpcd_direct_messages_sent_total)" -gt 0 ] || fail "restarted $1 sent nothing on its lane"
    ok "$1 restarted: $5, the next job is right and $1 sends on the lane"
}
# b (the higher index): a connects to its new listener; then a (the lower): b accepts its lane.
restart_lane b a 5 9 "a made its lane again"
restart_lane a b 2 13 "b accepted its new lane"

# a's configuration names a lane endpoint of b where nothing listens: no lane between a and b,
# ZeroMQ carries their messages (each keeps its lane with the dealer).
sed -i "s|^direct_endpoint = ipc://$D/b.lane.sock$|direct_endpoint = ipc://$D/nowhere.sock|" "$D/a.ini"
grep -q "nowhere.sock" "$D/a.ini" || fail "a.ini not changed"
scripts/cluster stop a --dir "$D" || fail "stop a"
scripts/cluster restart a --dir "$D" > "$D/restart.err" 2>&1 || fail "restart a with a wrong lane: $(cat "$D/restart.err")"
grep -q "direct lanes not set up with: peer 1" "$D/a.log" || fail "a did not say its lane is missing"
job 4 8
job 7 3
for p in a b; do
    i=0   # a's lane to the dealer may come from its reader a moment later
    while [ "$(metric $p mpcd_direct_lanes)" != 1 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
    [ "$(metric $p mpcd_direct_lanes)" = 1 ] || fail "$p: $(metric $p mpcd_direct_lanes) lanes, want the dealer's only"
done
ok "a wrong lane endpoint on one side: no lane between the parties, jobs right over ZeroMQ"
