#!/bin/sh
# Sequencer failover with real daemons (scripts/cluster, ipc:// sockets, short heartbeats;
# docs/daemon.md, "Sequencer failover"):
#  1. the sequencing party a frozen (SIGSTOP): a job of a 2-party program bound to b and c
#     runs and gives the right answer within 10 s of the stop, submitted with the full client
#     configuration (a does not answer: left out, it is not bound to the job) and with one
#     that lists only b and c; `mpc result` of such a job (attaching by id) works too;
#  2. a woken (SIGCONT): sequencing moves back to it and a 3-party job runs;
#  3. a killed (SIGKILL): a job bound to b and c runs again; a restarted: a 3-party job runs.
# Prints `ok …` per check; exits non-zero at the first failure.
set -u
BIN=${MPC_BIN:-$(pwd)/bin}
export MPC_BIN="$BIN"
D=$(mktemp -d /tmp/mpcd-failover.XXXXXX)
cleanup() {
    [ -f "$D/a.pid" ] && kill -CONT "$(cat "$D/a.pid")" 2>/dev/null
    scripts/cluster down --dir "$D" >/dev/null 2>&1; rm -rf "$D"
}
trap cleanup EXIT
[ "${MPC_TEST_KEEP:-}" = 1 ] && trap 'kill -CONT "$(cat "$D/a.pid")" 2>/dev/null; scripts/cluster down --dir "$D" >/dev/null 2>&1; echo "kept $D"' EXIT
. tests/lib.sh
without() {  # without OUT.ini PARTY: the full client configuration minus one daemon
    python3 - "$C" "$1" "$2" <<'P'
import sys
out, skip = [], False
for line in open(sys.argv[1]):
    if line.startswith("["):
        skip = line.strip() == f"[daemon {sys.argv[3]}]"
    if not skip:
        out.append(line)
open(sys.argv[2], "w").write("".join(out))
P
}

# heartbeat 200 ms: a frozen party is seen down after ~0.6 s.  The dealer makes the material
# (the failover is the point; OT set-up would only make each job slower).
C=$(scripts/cluster up 3 --prep dealer --dir "$D" --set limits.peer_timeout_ms=1500 --set limits.input_timeout_ms=4000 \
    --set limits.heartbeat_ms=200) || fail "cluster did not start"
cat > "$D/two.mpc" <<'P'
party p, q
input x: int from p
input y: int from q
output s = x * y + x to p, q
P
without "$D/bc.ini" a
two() {  # two CONFIG X Y [more mpc run args]: runs two.mpc bound p=b, q=c; checks x*y+x
    cfg=$1; x=$2; y=$3; shift 3
    "$BIN/mpc" run "$D/two.mpc" --config "$cfg" --input x="$x" --input y="$y" "$@" > "$D/out" 2> "$D/err" ||
        return 1
    grep -qx "s = $((x * y + x))" "$D/out"
}
three() {  # three X Y Z: secure_sum over a, b, c
    "$BIN/mpc" run examples/secure_sum.mpc --config "$C" --input x="$1" --input y="$2" --input z="$3" \
        > "$D/out" 2> "$D/err" && grep -qx "total = $(($1 + $2 + $3))" "$D/out"
}
two "$C" 3 4 --bind p=b,q=c || fail "a first 2-party job: $(cat "$D/out" "$D/err")"
three 1 2 3 || fail "a first 3-party job: $(cat "$D/out" "$D/err")"
grep -q "sequencer: a (this daemon)" "$D/a.log" || fail "a does not sequence at the start"
ok "a sequences at the start; 2- and 3-party jobs run"

# --- 1. a frozen ------------------------------------------------------------------------------
APID=$(cat "$D/a.pid")
kill -STOP "$APID"
start=$(now_ms)
two "$C" 6 7 --bind p=b,q=c || fail "a job bound to b and c with a frozen: $(cat "$D/out" "$D/err")"
el=$(($(now_ms) - start))
[ $el -le 10000 ] || fail "the job bound to b and c took $el ms after a froze"
grep -q "the sequencer is now b (this daemon) (was a: it is unreachable)" "$D/b.log" || fail "b did not take over"
grep -q "the sequencer is now b (was a: it is unreachable)" "$D/c.log" || fail "c did not follow b"
ok "with a frozen, a job bound to b and c ran $el ms after the stop (full client configuration)"
# Attaching by id (mpc result, a separate step) leaves the silent a out too: it is not bound.
JOB=$(sed -n 's/.*job \([0-9a-f]\{32\}\) submitted.*/\1/p' "$D/err" | head -n 1)
[ -n "$JOB" ] || fail "mpc run printed no job id: $(cat "$D/err")"
start=$(now_ms)
"$BIN/mpc" result "$D/two.mpc" --job "$JOB" --config "$C" > "$D/out" 2> "$D/err" ||
    fail "mpc result of the job with a frozen: $(cat "$D/err")"
grep -qx "s = 48" "$D/out" || fail "mpc result with a frozen: $(cat "$D/out")"
ok "with a frozen, mpc result fetched the job's output in $(($(now_ms) - start)) ms"
start=$(now_ms)
two "$D/bc.ini" 9 -2 || fail "a job from a client that lists only b and c: $(cat "$D/out" "$D/err")"
ok "with a frozen, a job from a client listing only b and c ran in $(($(now_ms) - start)) ms"

# --- 2. a woken: sequencing moves back to it ----------------------------------------------------
kill -CONT "$APID"
start=$(now_ms)
i=0
until grep -q "the sequencer is now a (was b: it is back)" "$D/c.log"; do
    i=$((i + 1)); [ $i -lt 100 ] || fail "c never went back to a"; sleep 0.1
done
three 4 5 6 || fail "a 3-party job after SIGCONT: $(cat "$D/out" "$D/err")"
two "$C" 2 5 --bind p=b,q=c || fail "a job bound to b and c after SIGCONT: $(cat "$D/out" "$D/err")"
ok "after SIGCONT a sequences again; 3- and 2-party jobs ran ($(($(now_ms) - start)) ms)"

# --- 3. a killed, then restarted ----------------------------------------------------------------
kill -9 "$APID"
start=$(now_ms)
two "$C" 8 8 --bind p=b,q=c || fail "a job bound to b and c with a killed: $(cat "$D/out" "$D/err")"
el=$(($(now_ms) - start))
[ $el -le 10000 ] || fail "the job bound to b and c took $el ms after a was killed"
ok "with a killed, a job bound to b and c ran $el ms after the kill"
scripts/cluster restart a --dir "$D" > /dev/null || fail "restart a"
start=$(now_ms)
three 7 8 9 || fail "a 3-party job after restarting a: $(cat "$D/out" "$D/err")"
ok "after restarting a, a 3-party job ran ($(($(now_ms) - start)) ms)"
grep -q "sequencer: a (this daemon)" "$D/a.log" || fail "the restarted a does not sequence"

scripts/cluster down --dir "$D" >/dev/null 2>&1
if grep -l "Sanitizer\|runtime error" "$D"/*.log >/dev/null 2>&1; then
    fail "a sanitizer report in the daemon logs: $(grep -h -A5 "Sanitizer\|runtime error" "$D"/*.log | head -n 30)"
fi
ok "the daemons stopped cleanly"
