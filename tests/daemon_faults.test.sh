#!/bin/sh
# Faults end to end with real daemons on 127.0.0.1 (scripts/cluster, short timeouts):
#  1. a peer frozen with SIGSTOP in the middle of a job: the others fail the job within the
#     timeout, naming it, and keep serving; after SIGCONT the next job succeeds;
#  2. a client that gives one input and goes away: the job fails after the input timeout
#     with a reason saying so; a job submitted behind it succeeds;
#  3. load: 20 concurrent clients running 150 small jobs, and one large job at the same time:
#     every answer is right; daemon memory (VmRSS) after the run is within a stated margin of
#     what it was after a warm-up.
# Prints `ok …` per check; exits non-zero at the first failure.
set -u
BIN=${MPC_BIN:-$(pwd)/bin}
export MPC_BIN="$BIN"
D=$(mktemp -d /tmp/mpcd-faults.XXXXXX)
cleanup() {
    for p in a b c; do [ -f "$D/$p.pid" ] && kill -CONT "$(cat "$D/$p.pid")" 2>/dev/null; done
    scripts/cluster down --dir "$D" >/dev/null 2>&1; rm -rf "$D"
}
trap cleanup EXIT
[ "${MPC_TEST_KEEP:-}" = 1 ] && trap 'scripts/cluster down --dir "$D" >/dev/null 2>&1; echo "kept $D"' EXIT
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

# max_job_bytes = 256 MiB: the long job below holds 12.2 million wire elements (98 MB), more
# than the default allows.
# max_queued_jobs = 40: the load below runs ~170 jobs, at most 21 at a time (regression: finished
# jobs used to count against the limit, refusing every submission after the 40th).
# The dealer makes the material here: the faults behave alike with either source, and OT
# preprocessing of the large jobs below would take minutes under the sanitizers (make asan).
C=$(scripts/cluster up 3 --prep dealer --dir "$D" --set limits.peer_timeout_ms=1500 --set limits.input_timeout_ms=3000 \
    --set limits.heartbeat_ms=200 --set limits.max_queued_jobs=40 --set limits.max_job_bytes=268435456) ||
    fail "cluster did not start"
"$BIN/mpc" run examples/secure_sum.mpc --config "$C" --input x=1 --input y=2 --input z=3 | grep -qx "total = 6" ||
    fail "a first job"

# --- 1. SIGSTOP -----------------------------------------------------------------------------
cat > "$D/long.mpc" <<'P'
party a, b, c
input x: int[100000] from a
input y: int[100000] from b
var acc = x
for i in 0..60 {
  acc = acc * y + x
}
output s = sum(acc) to a, b, c
P
python3 -c "import sys; sys.stdout.write('1\\n' * 100000)" > "$D/ones.csv"
: > "$D/b.mark"; bsize=$(wc -c < "$D/b.log")
"$BIN/mpc" run "$D/long.mpc" --config "$C" --input x=@"$D/ones.csv" --input y=@"$D/ones.csv" \
    > "$D/out" 2> "$D/err" &
RUN=$!
i=0
until tail -c +"$((bsize + 1))" "$D/b.log" | grep -q "running"; do
    i=$((i + 1)); [ $i -lt 300 ] || fail "the long job never ran on b"; sleep 0.02
done
sleep 0.3
BPID=$(cat "$D/b.pid")
kill -STOP "$BPID"
start=$(now_ms)
wait $RUN && fail "the job survived a frozen party: $(cat "$D/out")"
end=$(now_ms)
el=$((end - start))
# peer_timeout 1.5 s, heartbeat timeout ~1 s: the job must fail well within 10 s.
[ $el -le 10000 ] || fail "the failure took $el ms"
grep -q "b is unreachable" "$D/err" || fail "the error does not name the frozen party: $(cat "$D/err")"
JOB=$(sed -n 's/.*job \([0-9a-f]\{32\}\).*/\1/p' "$D/err" | head -n 1)
for p in a c; do   # every other party's record names b, not only the first to notice
    # (a party that heard of the failure by ABORT waits up to the heartbeat timeout before it
    # records it, so its line may come a little after the client's error)
    i=0
    until grep "job=$JOB failed" "$D/$p.log" | grep -q "b is unreachable"; do
        i=$((i + 1)); [ $i -lt 100 ] || break; sleep 0.05
    done
    grep "job=$JOB failed" "$D/$p.log" | grep -q "b is unreachable" ||
        fail "party $p's record of the job does not name b: $(grep "job=$JOB failed" "$D/$p.log")"
done
ok "a frozen (SIGSTOP) daemon fails the job in $el ms, naming it: $(head -c 300 "$D/err")"
# The others keep serving while b is still frozen (asked by a client that lists only them).
without "$D/ac.ini" b
"$BIN/mpc" status --config "$D/ac.ini" > "$D/st" 2>&1
for p in a c; do
    grep -q "^$p: reachable" "$D/st" || fail "daemon $p does not answer while b is frozen: $(cat "$D/st")"
done
kill -0 "$(cat "$D/a.pid")" && kill -0 "$(cat "$D/c.pid")" || fail "a daemon died"
ok "a and c keep serving while b is frozen"
kill -CONT "$BPID"
contat=$(now_ms)
# b wakes up inside a job its peers abandoned: it must fail it and take the next one, and
# the very next job must succeed even though b's connections are still being re-made
# (regression: the agreement used to fail at once with "cannot reach party a").
"$BIN/mpc" run examples/secure_sum.mpc --config "$C" --input x=5 --input y=6 --input z=7 > "$D/out" 2> "$D/err" ||
    fail "the first job after SIGCONT ($(( $(now_ms) - contat )) ms after it): $(cat "$D/err")"
grep -qx "total = 18" "$D/out" || fail "the first job after SIGCONT: $(cat "$D/out")"
kill -0 "$BPID" || fail "b died after SIGCONT"
ok "after SIGCONT the next job succeeds ($(( $(now_ms) - contat )) ms after SIGCONT)"

# --- 2. a client that goes away half-way through its inputs --------------------------------
JOB=$("$BIN/mpc" submit examples/secure_sum.mpc --config "$C") || fail "submit"
"$BIN/mpc" input examples/secure_sum.mpc --job "$JOB" --config "$D/client-a.ini" --input x=100 || fail "input x"
# ... and nothing more from that client.  Another job behind it:
start=$(now_ms)
"$BIN/mpc" run examples/secure_sum.mpc --config "$C" --input x=1 --input y=1 --input z=1 > "$D/out" 2> "$D/err" ||
    fail "the job behind an abandoned one failed: $(cat "$D/err")"
grep -qx "total = 3" "$D/out" || fail "the job behind an abandoned one: $(cat "$D/out")"
end=$(now_ms)
# The job behind no longer waits for the abandoned one (docs/daemon.md, "Job ordering"): the
# abandoned job ends on its own input_timeout_ms (3 s) after its submission, on every party.
i=0
until "$BIN/mpc" status --job "$JOB" --config "$C" > "$D/st" 2>&1 && [ "$(grep -c "job $JOB: failed" "$D/st")" -eq 3 ]; do
    i=$((i + 1)); [ $i -lt 100 ] || fail "the abandoned job did not fail: $(cat "$D/st")"; sleep 0.1
done
grep -q "input .y. never arrived here" "$D/st" || fail "the failure does not name the missing input: $(cat "$D/st")"
if "$BIN/mpc" result examples/secure_sum.mpc --job "$JOB" --config "$C" > "$D/out" 2> "$D/err"; then
    fail "the abandoned job released an output: $(cat "$D/out")"
fi
[ ! -s "$D/out" ] || fail "output printed for a failed job"
ok "an abandoned job fails after the input timeout ($(grep -m1 "job $JOB" "$D/st" | head -c 160)); the next job ran in $((end - start)) ms"

# --- 2b. a party killed (SIGKILL) while its job waits for inputs ----------------------------
JOB=$("$BIN/mpc" submit examples/secure_sum.mpc --config "$C") || fail "submit"
"$BIN/mpc" input examples/secure_sum.mpc --job "$JOB" --config "$D/client-a.ini" --input x=100 || fail "input x"
kill -9 "$(cat "$D/c.pid")"
without "$D/ab.ini" c
start=$(now_ms)
sed 's/^timeout_ms = .*/timeout_ms = 1000/' "$D/client-b.ini" > "$D/b-short.ini"
if "$BIN/mpc" input examples/secure_sum.mpc --job "$JOB" --config "$D/b-short.ini" --input y=1 > "$D/out" 2> "$D/err"; then
    : # b may accept its share; the job cannot finish without c either way
fi
i=0
until "$BIN/mpc" status --job "$JOB" --config "$D/ab.ini" 2>&1 | grep -q "^  job $JOB: failed"; do
    i=$((i + 1)); [ $i -lt 100 ] || fail "the job did not fail without c: $("$BIN/mpc" status --job "$JOB" --config "$D/ab.ini" 2>&1)"
    sleep 0.1
done
end=$(now_ms)
"$BIN/mpc" status --job "$JOB" --config "$D/ab.ini" > "$D/st" 2>&1
grep "job $JOB" "$D/st" | grep -q "party c\|c is unreachable" ||
    fail "the failure does not name the killed party: $(cat "$D/st")"
"$BIN/mpc" result examples/secure_sum.mpc --job "$JOB" --config "$C" > "$D/out" 2>&1 && fail "a result of the failed job"
ok "a party killed while its job waited for inputs: the job fails in $((end - start)) ms, naming it: $(grep -m1 "job $JOB" "$D/st" | head -c 200)"
scripts/cluster restart c --dir "$D" > /dev/null || fail "restart c"
"$BIN/mpc" run examples/secure_sum.mpc --config "$C" --input x=1 --input y=2 --input z=4 | grep -qx "total = 7" ||
    fail "the next job after restarting c"
ok "after restarting c the next job succeeds"

# --- 3. load ----------------------------------------------------------------------------------
# The short timeouts above are for noticing dead parties quickly; a party of a large job under
# the sanitizers (make asan) on a loaded machine may be busy longer than 1.5 s between two
# requests to the dealer.  The load runs with a generous peer timeout instead, and a generous
# input timeout: the large job and up to max_running_jobs small ones run at once, so on 2 busy
# cores a client's inputs may take longer than 3 s to reach every daemon (the main thread
# shares the cores with the job threads).  And the default heartbeats (1 s; 3 s under the
# sanitizers) instead of 200 ms: under make asan the large job failed here once in CI
# (2026-12-02; its error line was cut from the record), and a daemon busy with it and 20 clients
# being silent for 3 × 200 ms, so its peers take it for dead, is the likeliest cause (daemon_dp
# saw the same with 1 s heartbeats).  Section 1 is where short heartbeats are tested.
# Under the sanitizers the input timeout is 60 s.  In two CI runs under make asan (2026-12-01
# and 12-02) and one of make test (12-03) one small job of 150 failed at party c before its
# inputs reached it.  The 12-03 record showed the cause: the job ended at the instant it was
# submitted there, "input 'x' never arrived here within input_timeout_ms", because a party's
# pass read its clock before a client thread added the job and the job's age wrapped
# (mpcd/sequencer.c s_since; check_worker test_job_newer_than_pass).  The longer timeout
# stays: sanitizer-built clients on a loaded machine are slow.
hb=1000; it=20000; [ -n "${SAN_BUILD:-}" ] && { hb=3000; it=60000; }
scripts/cluster down --dir "$D" > /dev/null
sed -i "s/^peer_timeout_ms = .*/peer_timeout_ms = 30000/; s/^input_timeout_ms = .*/input_timeout_ms = $it/; s/^heartbeat_ms = .*/heartbeat_ms = $hb/" \
    "$D"/a.ini "$D"/b.ini "$D"/c.ini "$D"/dealer.ini
scripts/cluster start --dir "$D" > /dev/null || fail "cluster start with the longer peer timeout"
rss() { awk '/^VmRSS/ {print $2}' "/proc/$(cat "$D/$1.pid")/status"; }
client_loop() {  # client_loop K N: N jobs, inputs depending on K, each answer checked
    k=$1; n=$2; j=0
    while [ $j -lt "$n" ]; do
        x=$((k * 1000 + j)); y=$((j * 7)); z=-$k
        out=$("$BIN/mpc" run examples/secure_sum.mpc --config "$C" --input x=$x --input y=$y --input "z=$z" 2>&1 | grep -v "^mpc: job [0-9a-f]* submitted$")
        if [ "$out" != "total = $((x + y + z))" ]; then echo "client $k job $j: $out"; return 1; fi
        j=$((j + 1))
    done
}
# Warm-up: a large job and a few small ones, then the baseline.
"$BIN/mpc" run "$D/long.mpc" --config "$C" --input x=@"$D/ones.csv" --input y=@"$D/ones.csv" > "$D/big0" 2>&1 ||
    fail "warm-up large job: $(cat "$D/big0")"
client_loop 99 5 || fail "warm-up small jobs"
for p in a b c; do eval "rss0_$p=$(rss $p)"; done
start=$(now_ms)
"$BIN/mpc" run "$D/long.mpc" --config "$C" --input x=@"$D/ones.csv" --input y=@"$D/ones.csv" > "$D/big" 2>&1 &
BIG=$!
pids=""
k=0
while [ $k -lt 20 ]; do
    if [ $k -lt 10 ]; then n=8; else n=7; fi   # 10*8 + 10*7 = 150 jobs
    client_loop $k $n > "$D/load.$k" 2>&1 &
    pids="$pids $!"
    k=$((k + 1))
done
bad=0
for p in $pids; do wait "$p" || bad=1; done
wait $BIG || fail "the large job under load: $(cat "$D/big"); $(grep -h "WARN\|ERROR" "$D"/*.log | tail -n 20)"
end=$(now_ms)
if [ $bad -ne 0 ]; then   # with every daemon's lines about the failed jobs (the logs' tails may not hold them)
    ids=$(cat "$D"/load.* | grep -o '[0-9a-f]\{32\}' | sort -u | head -n 3)
    why=$(for id in $ids; do grep -h "job=$id" "$D"/a.log "$D"/b.log "$D"/c.log | grep -v "received from client" | tail -n 8; done)
    fail "a small job under load: $(cat "$D"/load.* | head -n 5)
$why"
fi
# sum over 100000 elements of acc after 60 rounds of acc = acc*1 + 1, starting from 1: 61 each.
grep -qx "s = 6100000" "$D/big" || fail "the large job's answer: $(cat "$D/big")"
ok "20 concurrent clients ran 150 small jobs and a large one in $((end - start)) ms, every answer right"
# Memory: after the run, within 48 MiB + 25% of the warm-up figure (allocator caching — with
# jobs on max_running_jobs threads, glibc keeps an arena per thread, and the client thread's
# arena holds the input shares the job threads free — and the job records kept for
# result_ttl_s account for some growth; measured: up to 47 MB on the sequencer at load 4).
for p in a b c; do
    r0=$(eval echo "\$rss0_$p"); r1=$(rss $p)
    lim=$((r0 + r0 / 4 + 49152))
    echo "  $p: VmRSS $r0 kB after warm-up, $r1 kB after the load (limit $lim kB)"
    [ "$r1" -le "$lim" ] || fail "daemon $p grew from $r0 kB to $r1 kB"
done
ok "no daemon's memory grew beyond the margin across the load"
# Under sanitizers (make asan) the daemons report leaks and errors when they exit: stop them
# cleanly and look.
scripts/cluster down --dir "$D" >/dev/null 2>&1
if grep -l "Sanitizer\|runtime error" "$D"/*.log >/dev/null 2>&1; then
    fail "a sanitizer report in the daemon logs: $(grep -h -A5 "Sanitizer\|runtime error" "$D"/*.log | head -n 30)"
fi
ok "the daemons stopped cleanly (no sanitizer report in their logs)"
