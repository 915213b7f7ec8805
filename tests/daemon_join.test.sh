#!/bin/sh
# Private joins in the service (docs/join.md, "Calling it from the daemon"): clients give each
# table's key column to its own party's daemon, the daemons run the join inside the job and
# the engine computes on its outputs.  A 2-party and a 3-party cluster (ipc:// sockets in
# their own directories) run a program joining labs (party a) and claims (party b) on
# patient_id, with random tables of 0 %, 50 % and 100 % overlap; every answer is checked
# against `mpcc --eval` of the same program and CSV files, and that against a plaintext join
# computed here.  A duplicate key fails the job with the same cause at every party; a key
# column from a client without the right is refused; a cancel stops a running join of 10^5
# keys a side within seconds; the metrics count key columns and joins; no key ever reaches a
# daemon log.
# Prints `ok …` per check; exits non-zero at the first failure.
set -u
BIN=${MPC_BIN:-$(pwd)/bin}
export MPC_BIN="$BIN"
D=$(mktemp -d /tmp/mpcd-join.XXXXXX)
D2="$D/two"
D3="$D/three"
mkdir -p "$D2" "$D3"
cleanup() {
    scripts/cluster down --dir "$D2" >/dev/null 2>&1 &
    scripts/cluster down --dir "$D3" >/dev/null 2>&1
    wait
    rm -rf "$D"
}
trap cleanup EXIT

. tests/lib.sh
FAIL_EXTRA="$D2/*.log $D3/*.log"

# Both clusters start at once.  No triple pool (pool_triples = 0): these jobs need a few
# hundred triples each, which they make themselves, while a pool's background preprocessing
# (10^6 triples by default) would take both cores for most of the test.
scripts/cluster up 2 --dir "$D2" --names a,b --set limits.peer_timeout_ms=20000 \
    --set limits.input_timeout_ms=20000 --set mpcd.pool_triples=0 --set mpcd.metrics_endpoint=127.0.0.1:0 \
    > /dev/null 2> "$D/up2.err" &
UP2=$!
scripts/cluster up 3 --dir "$D3" --names a,b,c --set limits.peer_timeout_ms=20000 \
    --set limits.input_timeout_ms=20000 --set mpcd.pool_triples=0 --set mpcd.metrics_endpoint=127.0.0.1:0 \
    > /dev/null 2> "$D/up3.err" &
UP3=$!

# log_has FILE TEXT: TEXT appears in FILE within 5 s (a daemon writes its line of a job's end
# a moment after the client heard of it from another daemon)
log_has() {
    i=0
    while [ $i -lt 50 ]; do
        grep -qF "$2" "$1" && return 0
        sleep 0.1
        i=$((i + 1))
    done
    return 1
}

NA=50
NB=40
# tables OVERLAP...: for each overlap (percent), labs.csv (NA rows) and claims.csv (NB rows)
# in $D/OVERLAP/, keys drawn at random (some with blanks around them, which the canonical form
# trims), and want: the plaintext join's count and intersection-sums.  One python3 for all.
tables() {
    python3 - "$D" "$NA" "$NB" "$@" <<'PY' || fail "cannot make the tables"
import os, random, secrets, sys
top, na, nb = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for overlap in map(int, sys.argv[4:]):
  d = os.path.join(top, str(overlap))
  os.makedirs(d, exist_ok=True)
  keys = lambda n: ["K" + secrets.token_hex(6) for _ in range(n)]
  a = keys(na)
  m = nb * overlap // 100
  b = random.sample(a, m) + keys(nb - m)
  random.shuffle(b)
  ga = [random.randrange(0, 1000) for _ in range(na)]
  cb = [random.randrange(0, 100000) for _ in range(nb)]
  pad = lambda k: " " + k + " " if random.random() < 0.2 else k
  with open(os.path.join(d, "labs.csv"), "w") as f:
      f.write("patient_id,glucose\n" + "".join(f"{pad(k)},{g}\n" for k, g in zip(a, ga)))
  with open(os.path.join(d, "claims.csv"), "w") as f:
      f.write("cost,patient_id\n" + "".join(f"{c},{pad(k)}\n" for k, c in zip(b, cb)))
  pos = {k: i for i, k in enumerate(a)}
  hit = [k in pos for k in b]
  with open(os.path.join(d, "want"), "w") as f:
      f.write(f"n = {sum(hit)}\n")
      f.write(f"sg = {sum(ga[pos[k]] for k in b if k in pos)}\n")
      f.write(f"sc = {sum(c for k, c in zip(b, cb) if k in pos)}\n")
  with open(os.path.join(d, "somekeys"), "w") as f:
      f.write("\n".join(a[:3] + b[-3:]) + "\n")
PY
}

# Every table first (while the clusters start), then the six runs at once (the daemons run
# jobs side by side).
tables 0 50 100
wait $UP2 || fail "the 2-party cluster did not start: $(cat "$D/up2.err")"
wait $UP3 || fail "the 3-party cluster did not start: $(cat "$D/up3.err")"
for P in 2 3; do
    DC=$D2
    [ "$P" = 3 ] && DC=$D3
    # the program: parties a, b (and c); labs of a joined with claims of b
    if [ "$P" = 3 ]; then PARTIES="a, b, c"; else PARTIES="a, b"; fi
    cat > "$D/j$P.mpc" <<MPC
party $PARTIES
param NA = $NA
param NB = $NB
input labs: table(patient_id: key, glucose: int in 0..1000)[NA] from a
input claims: table(cost: int in 0..100000, patient_id: key)[NB] from b
let j = join(labs, claims, on patient_id)
output n = count(j), sg = sum(j.glucose), sc = sum(j.cost) to $PARTIES
MPC
    for OV in 0 50 100; do
        T="$D/$OV"
        "$BIN/mpc" run "$D/j$P.mpc" --config "$DC/client.ini" --input labs=@"$T/labs.csv" \
            --input claims=@"$T/claims.csv" > "$T/out$P" 2> "$T/err$P" &
        eval "PID_${P}_$OV=$!"
    done
done
for P in 2 3; do
    DC=$D2
    [ "$P" = 3 ] && DC=$D3
    for OV in 0 50 100; do
        T="$D/$OV"
        wait "$(eval echo "\$PID_${P}_$OV")" || fail "$P parties, $OV %: $(cat "$T/err$P")"
        "$BIN/mpcc" --eval "$D/j$P.mpc" --input labs=@"$T/labs.csv" --input claims=@"$T/claims.csv" > "$T/eval$P" ||
            fail "mpcc --eval, $P parties, $OV %"
        cmp -s "$T/eval$P" "$T/want" || fail "mpcc --eval gave $(cat "$T/eval$P"), the plaintext join $(cat "$T/want")"
        cmp -s "$T/out$P" "$T/eval$P" || fail "$P parties, $OV % overlap: got $(cat "$T/out$P"), mpcc --eval $(cat "$T/eval$P")"
        JOB=$(sed -n 's/^mpc: job \([0-9a-f]*\) submitted$/\1/p' "$T/err$P")
        want_n=$(sed -n 's/^n = //p' "$T/want")
        log_has "$DC/a.log" "job=$JOB join 'j': $want_n of B's $NB rows matched" ||
            fail "party a's log has no intersection size for $JOB"
        grep "job=$JOB" "$DC/b.log" | grep -q "matched" && fail "party b's log shows the intersection size"
        ok "$P parties, $OV % overlap: the joined statistics equal mpcc --eval; only A's log has the size"
    done
done

# The table's own client, one per party: each gives its table (and key column) to the job.
T="$D/50"
JOB=$("$BIN/mpc" submit "$D/j3.mpc" --config "$D3/client-a.ini") || fail "submit"
"$BIN/mpc" input "$D/j3.mpc" --job "$JOB" --config "$D3/client-a.ini" --input labs=@"$T/labs.csv" || fail "input labs"
# a client of party b may not give party a's key column (nor its column)
if "$BIN/mpc" input "$D/j3.mpc" --job "$JOB" --config "$D3/client-b.ini" --input labs=@"$T/labs.csv" 2> "$D/err"; then
    fail "a key column from a client without the right was accepted"
fi
grep -q "client 'client_b' may not give input for party a (key column 'labs.patient_id')" "$D/err" ||
    fail "no-right message: $(cat "$D/err")"
log_has "$D3/a.log" \
    "refused a request: client 'client_b' may not give input for party a (key column 'labs.patient_id')" || fail "party a's log does not show the refusal"
"$BIN/mpc" input "$D/j3.mpc" --job "$JOB" --config "$D3/client-b.ini" --input claims=@"$T/claims.csv" ||
    fail "input claims"
"$BIN/mpc" result "$D/j3.mpc" --job "$JOB" --config "$D3/client-c.ini" > "$D/r.c" || fail "result for c"
cmp -s "$D/r.c" "$T/want" || fail "c got $(cat "$D/r.c")"
ok "one client per party gives its own key column; a client without the right is refused at the table's daemon"

# A duplicate key on side A: the job fails with the same cause at every party.
awk -F, 'NR == 3 { $0 = "K0dup," $2 } NR == 4 { $0 = "K0dup," $2 } { print }' "$T/labs.csv" > "$D/dup.csv"
if "$BIN/mpc" run "$D/j3.mpc" --config "$D3/client.ini" --input labs=@"$D/dup.csv" \
    --input claims=@"$T/claims.csv" > /dev/null 2> "$D/err"; then
    fail "a duplicate key was accepted"
fi
grep -q "duplicate keys on side A" "$D/err" || fail "duplicate message: $(cat "$D/err")"
JOB=$(sed -n 's/^mpc: job \([0-9a-f]*\) submitted$/\1/p' "$D/err")
log_has "$D3/a.log" "job=$JOB failed: join 'j': duplicate keys on side A" || fail "a's log: no duplicate cause"
log_has "$D3/b.log" "job=$JOB failed: join 'j': duplicate keys on side A" || fail "b's log: no duplicate cause"
log_has "$D3/c.log" "job=$JOB failed: join 'j' failed at party a: duplicate keys on side A" ||
    fail "c's log: no duplicate cause"
grep -q "K0dup" "$D3"/*.log && fail "the duplicate key reached a log"
# and the daemons keep serving
"$BIN/mpc" run "$D/j3.mpc" --config "$D3/client.ini" --input labs=@"$T/labs.csv" --input claims=@"$T/claims.csv" \
    > "$D/again" 2> "$D/err" || fail "after the duplicate: $(cat "$D/err")"
cmp -s "$D/again" "$T/want" || fail "after the duplicate: $(cat "$D/again")"
ok "a duplicate key fails the job at all three parties with one cause; the daemons keep serving"

# A table joined on its key column alone: only its key column is given (no input of it).
cat > "$D/konly.mpc" <<MPC
party a, b
input labs: table(patient_id: key, glucose: int in 0..1000)[$NA] from a
input claims: table(patient_id: key)[$NB] from b
let j = join(labs, claims, on patient_id)
output n = count(j), sg = sum(j.glucose) to a, b
MPC
T="$D/50"
cut -d, -f2 "$T/claims.csv" > "$D/konly.csv"
"$BIN/mpcc" --eval "$D/konly.mpc" --input labs=@"$T/labs.csv" --input claims=@"$D/konly.csv" > "$D/konly.want" ||
    fail "mpcc --eval of the key-only table"
"$BIN/mpc" run "$D/konly.mpc" --config "$D2/client.ini" --input labs=@"$T/labs.csv" --input claims=@"$D/konly.csv" \
    > "$D/konly.out" 2> "$D/err" || fail "key-only table: $(cat "$D/err")"
cmp -s "$D/konly.out" "$D/konly.want" || fail "key-only table: got $(cat "$D/konly.out"), want $(cat "$D/konly.want")"
ok "a table of a key column alone: its key column is all its client gives; equal to mpcc --eval"

# A running join stopped by a cancel (mpc run interrupted by SIGINT cancels its job on every
# daemon): 10^5 keys a side are many seconds of group operations; both daemons record the job
# cancelled within 5 s of the signal, stopped inside the join, which never finished.
python3 - "$D/big" <<'PY' || fail "cannot make the big tables"
import os, sys
d = sys.argv[1]
os.makedirs(d)
n = 100000
with open(os.path.join(d, "labs.csv"), "w") as f:
    f.write("patient_id,glucose\n" + "".join(f"L{i},{i % 1000}\n" for i in range(n)))
with open(os.path.join(d, "claims.csv"), "w") as f:
    f.write("patient_id,cost\n" + "".join(f"L{2 * i},{i % 1000}\n" for i in range(n)))
PY
cat > "$D/big.mpc" <<MPC
party a, b
input labs: table(patient_id: key, glucose: int in 0..1000)[100000] from a
input claims: table(patient_id: key, cost: int in 0..100000)[100000] from b
let j = join(labs, claims, on patient_id)
output n = count(j), sg = sum(j.glucose) to a, b
MPC
now_ms() { echo $(($(date +%s%N) / 1000000)); }
"$BIN/mpc" run "$D/big.mpc" --config "$D2/client.ini" --input labs=@"$D/big/labs.csv" \
    --input claims=@"$D/big/claims.csv" > "$D/big.out" 2>&1 &
RUN=$!
i=0
until grep -q "running: 4 inputs" "$D2/a.log" && grep -q "running: 4 inputs" "$D2/b.log"; do
    sleep 0.1; i=$((i + 1)); [ $i -lt 300 ] || fail "the big join did not start: $(cat "$D/big.out")"
done
sleep 1
t0=$(now_ms)
kill -INT $RUN
wait $RUN && fail "the interrupted run succeeded"
JOB=$(sed -n 's/^mpc: job \([0-9a-f]*\) submitted$/\1/p' "$D/big.out")
[ -n "$JOB" ] || fail "no job id: $(cat "$D/big.out")"
for p in a b; do
    i=0
    until grep -q "job=$JOB cancelled" "$D2/$p.log"; do
        sleep 0.05; i=$((i + 1)); [ $i -lt 200 ] || fail "party $p did not record the job cancelled"
    done
done
dt=$(($(now_ms) - t0))
[ $dt -le 5000 ] || fail "the join took $dt ms to stop"
grep "job=$JOB" "$D2/a.log" | grep -q "cancelled: join 'j': stopped" ||
    fail "a's record: $(grep "job=$JOB" "$D2/a.log" | tail -n 1)"
grep "job=$JOB" "$D2/a.log" | grep -q "rows matched" && fail "the cancelled join ran to its end"
ok "a running join of 10^5 x 10^5 keys is stopped by a cancel: both daemons recorded it cancelled in $dt ms"

# Metrics (docs/daemon.md): KEYS requests under type="keys", joins by outcome.  Party a of
# the 3-party cluster took labs' key column 6 times and refused it once (client b's); its
# joins: 5 done, 1 failed (the duplicate), and c, a third party, counts the same joins.  In the
# 2-party cluster: 5 key columns at a (the cancelled job's too), 4 joins done and the cancelled one
# failed.
metric() {   # DIR PARTY SERIES: the value of SERIES on that daemon's /metrics
    port=$(sed -n 's/.*metrics endpoint 127\.0\.0\.1:0 listening on port \([0-9]*\):.*/\1/p' "$1/$2.log" | tail -n 1)
    curl -s --max-time 5 "http://127.0.0.1:$port/metrics" | grep -F "$3 " | awk '{print $2}'
}
check_metric() {   # DIR PARTY SERIES WANT
    got=$(metric "$1" "$2" "$3")
    [ "$got" = "$4" ] || fail "party $2 of $(basename "$1"): $3 is '$got', want $4"
}
check_metric "$D3" a 'mpcd_client_requests_total{type="keys",result="ok"}' 6
check_metric "$D3" a 'mpcd_client_requests_total{type="keys",result="refused"}' 1
check_metric "$D3" b 'mpcd_client_requests_total{type="keys",result="ok"}' 6
check_metric "$D3" c 'mpcd_client_requests_total{type="keys",result="ok"}' 0
for p in a b c; do
    check_metric "$D3" $p 'mpcd_joins_total{outcome="done"}' 5
    check_metric "$D3" $p 'mpcd_joins_total{outcome="failed"}' 1
done
check_metric "$D2" a 'mpcd_client_requests_total{type="keys",result="ok"}' 5
for p in a b; do
    check_metric "$D2" $p 'mpcd_joins_total{outcome="done"}' 4
    check_metric "$D2" $p 'mpcd_joins_total{outcome="failed"}' 1
done
ok "metrics: key columns counted as type=\"keys\" (taken and refused), joins by outcome at every party"

# No key in any daemon log.
for OV in 0 50 100; do
    if grep -F -f "$D/$OV/somekeys" "$D2"/*.log "$D3"/*.log > "$D/leak"; then
        fail "a key reached a daemon log: $(head -n 1 "$D/leak")"
    fi
done
ok "no key in any daemon log"
