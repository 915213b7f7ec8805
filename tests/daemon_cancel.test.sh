#!/bin/sh
# Cancelling jobs end to end with real daemons (scripts/cluster, ipc:// endpoints; the
# semantics are in docs/daemon.md, "Cancelling a job"):
#  1. a job waiting for inputs, cancelled by its submitter: every daemon reports it cancelled
#     (by that client) within 2 s, RESULT answers so, and the next job completes at once;
#  2. another client without the cancel right is refused; a client with it may cancel;
#  3. `mpc run` whose input is refused by the daemons cancels its job everywhere and the next
#     job completes at once;
#  4. `mpc run` interrupted with SIGINT while its job runs: mpc exits within 2 s and the job is
#     cancelled on every daemon (stopped at its next round, the peers aborted);
#  5. a submission refused by one daemon (program not in its allowlist) is withdrawn from the
#     daemons that accepted it (or, if already ordered, fails there at once).
# Prints `ok …` per check; exits non-zero at the first failure.
set -u
BIN=${MPC_BIN:-$(pwd)/bin}
export MPC_BIN="$BIN"
D=$(mktemp -d /tmp/mpcd-cancel.XXXXXX)
cleanup() { scripts/cluster down --dir "$D" >/dev/null 2>&1; rm -rf "$D"; }
trap cleanup EXIT
[ "${MPC_TEST_KEEP:-}" = 1 ] && trap 'scripts/cluster down --dir "$D" >/dev/null 2>&1; echo "kept $D"' EXIT
. tests/lib.sh
MPC="$BIN/mpc"
SUM=examples/secure_sum.mpc

# every daemon reports job $1 in state "cancelled" with reason $2, within 2 s
cancelled_everywhere() {
    i=0
    while [ $i -lt 20 ]; do
        n=$("$MPC" status --config "$C" --job "$1" | grep -c "job $1: cancelled, .*: cancelled by client $2\$")
        [ "$n" = 3 ] && return 0
        sleep 0.1
        i=$((i + 1))
    done
    "$MPC" status --config "$C" --job "$1"
    return 1
}
# a job with every input given here completes within $1 ms
runs_at_once() {
    t0=$(now_ms)
    out=$(timeout 20 "$MPC" run $SUM --config "$C" --input x=1 --input y=2 --input z=3) || return 1
    [ "$out" = "total = 6" ] || return 1
    dt=$(($(now_ms) - t0))
    [ $dt -le "$1" ] || { echo "took $dt ms"; return 1; }
}

# input_timeout_ms stays long (60 s): a job left waiting would block the next one for a minute.
C=$(scripts/cluster up 3 --prep dealer --dir "$D" --set limits.peer_timeout_ms=1500 --set limits.heartbeat_ms=200 \
    --set limits.max_job_bytes=1073741824) ||
    fail "cluster did not start"
runs_at_once 20000 || fail "a first job"

# --- 1. a job waiting for inputs, cancelled by its submitter ------------------------------
J=$("$MPC" submit $SUM --config "$D/client-a.ini" --input x=1) || fail "submit"
sleep 0.3
# (a job missing an input is not ordered: it stays queued until every party holds its inputs)
"$MPC" status --config "$C" --job "$J" | grep -q "job $J: \(queued\|waiting for inputs\)" || fail "the job is not waiting for inputs"
"$MPC" cancel "$J" --config "$D/client-a.ini" >/dev/null || fail "mpc cancel by the submitter"
cancelled_everywhere "$J" client_a || fail "the cancelled job is not cancelled on every daemon"
"$MPC" status --config "$C" | grep -c "jobs 0 queued, 0 running" | grep -qx 3 || fail "the cancelled job still counts as queued"
out=$("$MPC" result $SUM --job "$J" --config "$C" 2>&1) && fail "RESULT of a cancelled job succeeded"
echo "$out" | grep -q "cancelled by client client_a" || fail "RESULT of a cancelled job: $out"
runs_at_once 3000 || fail "the job after a cancelled one did not run at once"
ok "cancel of a job waiting for inputs: cancelled on every daemon; the next job ran at once"

# --- 2. rights ----------------------------------------------------------------------------
J=$("$MPC" submit $SUM --config "$D/client-a.ini" --input x=1) || fail "submit"
out=$("$MPC" cancel "$J" --config "$D/client-b.ini" 2>&1) && fail "client_b (no cancel right) cancelled client_a's job"
echo "$out" | grep -q "client 'client_b' may not cancel a job of client 'client_a'" || fail "refusal: $out"
"$MPC" status --config "$C" --job "$J" | grep -q "job $J: cancelled" && fail "a refused cancel cancelled the job"
"$MPC" cancel "$J" --config "$C" >/dev/null || fail "a client with the cancel right was refused"
cancelled_everywhere "$J" client || fail "cancel with the cancel right"
runs_at_once 3000 || fail "the job after a cancelled one (2)"
ok "cancel without the right refused, with the cancel right allowed"

# --- 3. mpc run whose input is refused cancels its job ------------------------------------
out=$(timeout 20 "$MPC" run $SUM --config "$D/client-a.ini" --input x=1 --input y=2 --input z=3 2>&1) &&
    fail "client_a gave input for party b"
J=$(echo "$out" | grep -o 'job [0-9a-f]\{32\} cancelled on every daemon' | cut -c5-36)
[ -n "$J" ] || fail "mpc run did not cancel its job: $out"
cancelled_everywhere "$J" client_a || fail "the failed run's job is not cancelled"
runs_at_once 3000 || fail "the job after a failed run"
ok "mpc run with a refused input cancelled its job; the next job ran at once"

# --- 4. mpc run interrupted with SIGINT while its job runs -------------------------------
cat > "$D/long.mpc" <<'P'
party a, b, c
input x: int[20000] from a
input y: int[20000] from b
var acc = x
for i in 0..2000 {
  acc = acc * y + x
}
output s = sum(acc) to a, b, c
P
python3 -c "print(','.join(['3'] * 20000))" > "$D/v.txt"
"$MPC" run "$D/long.mpc" --config "$C" --input x=@"$D/v.txt" --input y=@"$D/v.txt" > "$D/run.out" 2>&1 &
P=$!
i=0
until grep -q "running: " "$D/a.log" 2>/dev/null && [ "$(grep -c 'running: 2 inputs' "$D/a.log")" -ge 1 ]; do
    sleep 0.1; i=$((i + 1)); [ $i -lt 200 ] || fail "the long job did not start"
done
sleep 0.5
t0=$(now_ms)
kill -INT $P
wait $P
rc=$?
dt=$(($(now_ms) - t0))
[ $rc = 130 ] || fail "mpc run after SIGINT exited $rc: $(cat "$D/run.out")"
[ $dt -le 2000 ] || fail "mpc run took $dt ms to exit after SIGINT"
J=$(grep -o 'job [0-9a-f]\{32\} cancelled on every daemon' "$D/run.out" | cut -c5-36)
[ -n "$J" ] || fail "the interrupted run did not cancel its job: $(cat "$D/run.out")"
cancelled_everywhere "$J" client || fail "the interrupted run's job is not cancelled everywhere"
grep -q "job=$J cancelled: " "$D/b.log" ||
    fail "party b did not stop the running job"
runs_at_once 5000 || fail "the job after an interrupted run"
ok "mpc run interrupted by SIGINT: exited in $dt ms, its running job cancelled on every daemon"

# --- 5. a submission refused by one daemon is withdrawn from the others -------------------
H=$("$BIN/mpcc" --stats "$D/long.mpc" 2>&1 | grep -o 'hash: [0-9a-f]\{64\}' | cut -c7-)
[ -n "$H" ] || fail "no hash from mpcc --stats"
sed -i "s/^allow_any_program = true/allow_any_program = false\nallow = $H/" "$D/c.ini"
scripts/cluster restart c --dir "$D" >/dev/null || fail "restart of c with an allowlist"
out=$(timeout 20 "$MPC" submit $SUM --config "$D/client-a.ini" --input x=1 2>&1) && fail "c accepted a program not allowed"
echo "$out" | grep -q "not in this party's allowlist" || fail "refusal by c: $out"
J=$(echo "$out" | grep -o 'job [0-9a-f]\{32\}' | head -1 | cut -c5-)
# Withdrawn: cancelled on a and b.  The sequencer may have ordered the job in the moment
# between the refusal and the withdrawal; then the agreement fails it at once instead, naming c.
# Or c's worker reported its refusal to the sequencer before the client's withdrawal came: then
# the sequencer ended the job, naming c, and told b.
i=0
until [ "$("$MPC" status --config "$C" --job "$J" |
           grep -c "job $J: \(cancelled, .*cancelled by client client_a\|failed, .*party c does not hold the job\|failed, .*party c refused the job\)")" = 2 ]; do
    sleep 0.1; i=$((i + 1)); [ $i -lt 20 ] || { "$MPC" status --config "$C" --job "$J"; fail "the refused submission was not withdrawn from a and b"; }
done
"$MPC" status --config "$C" | grep -c "jobs 0 queued, 0 running" | grep -qx 3 || fail "the withdrawn job still counts"
ok "a submission refused by c was withdrawn (cancelled) from a and b"
