#!/bin/sh
# Truthful status with real daemons (scripts/cluster, ipc:// endpoints, short timeouts):
#  1. mpc run prints the full job id on stderr when it submits; mpc jobs lists that job (done,
#     its submitter); a job submitted without its inputs is listed waiting;
#  2. mpc status shows each daemon's peers connected;
#  3. b frozen (SIGSTOP): mpc status reports b unreachable, and only b, within the client's
#     timeout (every daemon is asked at once, each with its own deadline); a and c report
#     their peer b unreachable; after SIGCONT every daemon answers again.
# Prints `ok …` per check; exits non-zero at the first failure.
set -u
BIN=${MPC_BIN:-$(pwd)/bin}
export MPC_BIN="$BIN"
D=$(mktemp -d /tmp/mpcd-status.XXXXXX)
cleanup() {
    for p in a b c; do [ -f "$D/$p.pid" ] && kill -CONT "$(cat "$D/$p.pid")" 2>/dev/null; done
    scripts/cluster down --dir "$D" >/dev/null 2>&1; rm -rf "$D"
}
trap cleanup EXIT
. tests/lib.sh

C=$(scripts/cluster up 3 --prep dealer --dir "$D" --set limits.peer_timeout_ms=1500 --set limits.input_timeout_ms=2000 \
    --set limits.heartbeat_ms=200) || fail "cluster did not start"
sed -i 's/^timeout_ms = .*/timeout_ms = 2000/' "$C"

# --- 1. the job id, mpc jobs ------------------------------------------------------------------
"$BIN/mpc" run examples/secure_sum.mpc --config "$C" --input x=1 --input y=2 --input z=3 > "$D/out" 2> "$D/err" ||
    fail "a first job: $(cat "$D/err")"
grep -qx "total = 6" "$D/out" || fail "the first job's answer: $(cat "$D/out")"
JOB=$(sed -n 's/^mpc: job \([0-9a-f]\{32\}\) submitted$/\1/p' "$D/err")
[ -n "$JOB" ] || fail "mpc run printed no job id on stderr: $(cat "$D/err")"
ok "mpc run printed job $JOB"
"$BIN/mpc" jobs --config "$C" > "$D/jobs" 2>&1 || fail "mpc jobs: $(cat "$D/jobs")"
grep "^$JOB " "$D/jobs" | grep -q " done " || fail "mpc jobs does not list $JOB as done: $(cat "$D/jobs")"
CLIENT=$(grep "^$JOB " "$D/jobs" | awk '{print $4}')
[ -n "$CLIENT" ] && [ "$CLIENT" != "-" ] || fail "no submitter: $(cat "$D/jobs")"
JOB2=$("$BIN/mpc" submit examples/secure_sum.mpc --config "$C" 2> "$D/err") || fail "mpc submit: $(cat "$D/err")"
"$BIN/mpc" jobs --config "$C" --json > "$D/jobs.json" 2>&1 || fail "mpc jobs --json: $(cat "$D/jobs.json")"
python3 - "$D/jobs.json" "$JOB" "$JOB2" "$CLIENT" <<'P' || fail "mpc jobs --json: $(cat "$D/jobs.json")"
import json, sys
jobs = {j["job"]: j for j in json.load(open(sys.argv[1]))}
assert jobs[sys.argv[2]]["state"] == "done", jobs
assert jobs[sys.argv[3]]["state"] in ("queued", "waiting for inputs", "agreeing"), jobs
assert jobs[sys.argv[3]]["submitter"] == sys.argv[4], jobs
assert jobs[sys.argv[3]]["daemons"] == 3, jobs
P
ok "mpc jobs lists the done job and the one waiting for inputs, with their submitter"

# --- 2. peers -----------------------------------------------------------------------------------
i=0
until "$BIN/mpc" status --config "$C" > "$D/st" 2>&1 && [ "$(grep -c "peer [abc]: connected since" "$D/st")" -eq 6 ]; do
    i=$((i + 1)); [ $i -lt 50 ] || fail "not every peer shown connected: $(cat "$D/st")"; sleep 0.1
done
ok "mpc status shows the 6 peer connections up"

# --- 3. a frozen daemon -------------------------------------------------------------------------
BPID=$(cat "$D/b.pid")
kill -STOP "$BPID"
sleep 1   # the others' heartbeats (3 x 200 ms) notice it
start=$(now_ms)
"$BIN/mpc" status --config "$C" > "$D/st" 2>&1
rc=$?
el=$(($(now_ms) - start))
[ $rc -eq 2 ] || fail "mpc status exit $rc with b frozen: $(cat "$D/st")"
grep -q "^b: unreachable" "$D/st" || fail "b not reported unreachable: $(cat "$D/st")"
grep -q "^a: reachable" "$D/st" || fail "a not reported reachable: $(cat "$D/st")"
grep -q "^c: reachable" "$D/st" || fail "c not reported reachable: $(cat "$D/st")"
[ $el -le 3000 ] || fail "mpc status took $el ms (client timeout 2000 ms)"
ok "b frozen: mpc status reports b, and only b, unreachable in $el ms"
i=0
until "$BIN/mpc" status --config "$C" > "$D/st" 2>&1; [ "$(grep -c "peer b: unreachable since" "$D/st")" -eq 2 ]; do
    i=$((i + 1)); [ $i -lt 50 ] || fail "a and c do not report their peer b unreachable: $(cat "$D/st")"; sleep 0.1
done
grep -q "peer a: connected\|peer c: connected" "$D/st" || fail "a and c lost each other: $(cat "$D/st")"
ok "a and c report their peer b unreachable"
kill -CONT "$BPID"
i=0
until "$BIN/mpc" status --config "$C" > "$D/st" 2>&1; do
    i=$((i + 1)); [ $i -lt 50 ] || fail "b does not answer after SIGCONT: $(cat "$D/st")"; sleep 0.1
done
ok "after SIGCONT every daemon answers"
