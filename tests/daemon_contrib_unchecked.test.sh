#!/bin/sh
# Collections without validity checks with real daemons (docs/contributions.md, "Collections
# without validity checks"): a 2-party cluster (scripts/cluster --contributors) serves
# `input g: int[4] from contributors unchecked`; 60 contributions from the Python binding (4
# threads) — values far outside any range the language would accept for a checked collection,
# two of them (p-1)/2 so that one sum wraps mod p — are all included, and the job's count and
# sums equal `mpcc --eval` (which wraps alike).  The checked and the unchecked program compile
# to two circuit hashes (the collection records are in the hash), and a client holding the
# other program is refused, naming the circuit (the daemons' own refusal of a proof where none
# is declared, and of none where one is, is check_collect's).  A
# duplicate and a forged token are refused as for checked collections.  Then the load
# generator (bench/contrib_load.c, built here against lib/libmpcclient.a: the public SDK
# only) makes 400 contributions before sending them from 2 connections, 8 at a time
# (mpc_job_contribution_make, mpc_job_contribution_send_many), to a second job opened after
# the daemons were reloaded with contrib_max_pending = 12: many are refused for now
# (MPC_ERR_LIMIT) by one daemon and taken by the other, and sent again to the one only (a
# resend to both would be refused as a duplicate); the job's sums equal mpcc --eval of the
# values the generator wrote.  No value or token in the logs.  Prints `ok …` per check; exits non-zero at the first failure.
set -u
BIN=${MPC_BIN:-$(pwd)/bin}
export MPC_BIN="$BIN"
D=$(mktemp -d /tmp/mpcd-unchecked.XXXXXX)
cleanup() { scripts/cluster down --dir "$D/c" >/dev/null 2>&1; rm -rf "$D"; }
trap cleanup EXIT

. tests/lib.sh

N=60
C=$(scripts/cluster up 2 --dir "$D/c" --contributors --set mpcd.pool_triples=0 \
    --set limits.contrib_window_ms=120000 --set limits.input_timeout_ms=180000) || fail "cluster did not start"
CCONF="$D/c/client-contributors.ini"
KEY="$D/c/keys/token.key"
HALF=1152921489574461440   # (p - 1) / 2, p = 2305842979148922881

cat > "$D/u.mpc" <<'MPC'
party a, b
input g: int[4] from contributors unchecked
output n = count(g), total = sum(g) to a, b
MPC
cat > "$D/k.mpc" <<'MPC'
party a, b
input g: int[4] from contributors in -1000000..1000000
output n = count(g), total = sum(g) to a, b
MPC
"$BIN/mpcc" --stats "$D/u.mpc" 2>&1 | grep '^hash' > "$D/hu"
"$BIN/mpcc" --stats "$D/k.mpc" 2>&1 | grep '^hash' > "$D/hk"
cmp -s "$D/hu" "$D/hk" && fail "the checked and the unchecked program compile to one circuit hash"

JOB=$("$BIN/mpc" submit "$D/u.mpc" --config "$C" --max-count $N) || fail "submit (unchecked)"
JOBK=$("$BIN/mpc" submit "$D/k.mpc" --config "$C" --max-count 1) || fail "submit (checked)"
"$BIN/mpcd" contributor-token make "$KEY" $((N + 3)) > "$D/tokens" || fail "contributor-token make"
ok "an unchecked and a checked collection submitted (two circuit hashes)"

# The other program's client: a proof to the unchecked collection, none to the checked one.
T1=$(sed -n "$((N + 1))p" "$D/tokens")
T2=$(sed -n "$((N + 2))p" "$D/tokens")
"$BIN/mpc" contribute "$D/k.mpc" --job "$JOB" --config "$CCONF" --token "$T1" --input g=1,2,3,4 2> "$D/err" &&
    fail "a contribution with a validity proof was taken by the unchecked collection"
grep -q "runs a different circuit than the one given here" "$D/err" ||
    fail "refused for another reason: $(cat "$D/err")"
ok "a contribution of the checked program to the unchecked collection refused ($(head -c 160 "$D/err"))"
"$BIN/mpc" contribute "$D/u.mpc" --job "$JOBK" --config "$CCONF" --token "$T2" --input g=1,2,3,4 2> "$D/err" &&
    fail "a contribution without a validity proof was taken by the checked collection"
grep -q "runs a different circuit than the one given here" "$D/err" || fail "refused for another reason: $(cat "$D/err")"
ok "a contribution of the unchecked program to the checked collection refused ($(head -c 160 "$D/err"))"
"$BIN/mpc" cancel "$JOBK" --config "$C" > /dev/null 2>&1 || fail "cancel the checked job"

pyclient - "$D" "$JOB" "$N" "$HALF" <<'PY' > "$D/harness.out" 2> "$D/harness.err" || fail "harness: $(tail -5 "$D/harness.err")"
import random, sys, threading
import mpcclient
from mpc_errors import ERR_DENIED, ERR_STATE

d, job_id, n, half = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
tokens = open(d + "/tokens").read().split()
rng = random.Random(11)
rows = [[rng.randint(-10 ** 15, 10 ** 15) for _ in range(4)] for _ in range(n)]
rows[0][0] = rows[1][0] = half   # their sum wraps past p
with open(d + "/accepted.csv", "w") as f:
    for r in rows:
        f.write(", ".join(map(str, r)) + "\n")
errors, refused = [], {"duplicate": 0, "forged": 0}
lock = threading.Lock()

def worker(t, nt):
    try:
        with mpcclient.Client(d + "/c/client-contributors.ini") as c:
            job = c.attach(job_id, d + "/u.mpc")
            for i in range(t, n, nt):
                body = ", ".join(map(str, rows[i]))
                if i == 3:
                    b = bytearray(bytes.fromhex(tokens[i]))
                    b[-1] ^= 1
                    try:
                        job.contribute("g", body, b.hex())
                        errors.append("forged accepted")
                    except mpcclient.MPCError as e:
                        if e.code != ERR_DENIED:
                            errors.append("forged: %s" % e)
                        with lock:
                            refused["forged"] += 1
                job.contribute("g", body, tokens[i])
                if i == 5:
                    try:
                        job.contribute("g", body, tokens[i])
                        errors.append("duplicate accepted")
                    except mpcclient.MPCError as e:
                        if e.code != ERR_STATE:
                            errors.append("duplicate: %s" % e)
                        with lock:
                            refused["duplicate"] += 1
    except Exception as e:   # noqa: BLE001 - reported below
        errors.append(repr(e))

threads = [threading.Thread(target=worker, args=(t, 4)) for t in range(4)]
for th in threads:
    th.start()
for th in threads:
    th.join()
if errors:
    sys.exit("harness errors: " + "; ".join(errors[:5]))
print(" ".join("%s=%d" % kv for kv in sorted(refused.items())))
PY
read -r REFUSED < "$D/harness.out"
[ "$REFUSED" = "duplicate=1 forged=1" ] || fail "refused: $REFUSED"
ok "$N contributions without proofs taken (values up to (p-1)/2); a duplicate and a forged token refused"

"$BIN/mpc" result "$D/u.mpc" --job "$JOB" --config "$C" --timeout 60000 > "$D/mpc.out" 2> "$D/mpc.err" ||
    fail "result: $(cat "$D/mpc.err")"
"$BIN/mpcc" --eval "$D/u.mpc" --input g=@"$D/accepted.csv" > "$D/eval.out" 2> "$D/eval.err" ||
    fail "mpcc --eval: $(cat "$D/eval.err")"
head -1 "$D/eval.out" | grep -qx "n = $N" || fail "mpcc --eval counted $(head -1 "$D/eval.out")"
cmp -s "$D/mpc.out" "$D/eval.out" || fail "the job gave $(cat "$D/mpc.out") but mpcc --eval $(cat "$D/eval.out")"
python3 - "$D/accepted.csv" "$D/mpc.out" <<'PY' || fail "the first sum did not wrap mod p as documented"
import sys
p = 2305842979148922881
rows = [list(map(int, l.split(","))) for l in open(sys.argv[1]) if l.strip()]
total = [v for l in open(sys.argv[2]) if l.startswith("total = ") for v in map(int, l[8:].split(","))]
s = sum(r[0] for r in rows)
assert s > (p - 1) // 2 and total[0] == s - p, (s, total)
PY
for p in a b; do
    grep -q "collection 'g-contrib' closed: $N contributions in [0-9]* batches, 0 invalid" "$D/c/$p.log" ||
        fail "party $p's log does not name the close: $(grep "closed:" "$D/c/$p.log")"
done
ok "count and sums equal mpcc --eval, the first sum wrapped mod p"

# The SDK's two steps and the pipelined send, through the load generator.
SANF=
[ -n "${SAN_BUILD:-}" ] && SANF="-fsanitize=address,undefined"
${CC:-cc} -std=c11 -D_GNU_SOURCE -O1 -g -Wall -Wextra -Werror -Wshadow $SANF -Iclient-sdk -Iprotocols \
    -o "$D/contrib-load" bench/contrib_load.c "$BIN/../lib/libmpcclient.a" \
    $(pkg-config --cflags --libs libsodium libzmq msgpack inih libcrypto) -lpthread -lm > "$D/cc.log" 2>&1 ||
    fail "cannot build bench/contrib_load.c: $(head -20 "$D/cc.log")"
for p in a b; do
    tests/ini-set "$D/c/$p.ini" limits contrib_max_pending 12
    kill -HUP "$(cat "$D/c/$p.pid")"
done
for p in a b; do
    i=0
    until grep -q "reload: configuration .* applied" "$D/c/$p.log"; do
        i=$((i + 1))
        [ $i -gt 100 ] && fail "party $p did not reload"
        sleep 0.1
    done
done
M=400
JOB2=$("$BIN/mpc" submit "$D/u.mpc" --config "$C" --max-count $M) || fail "submit (second job)"
"$BIN/mpcd" contributor-token make "$KEY" $M > "$D/tokens2" || fail "contributor-token make"
"$D/contrib-load" --config "$CCONF" --job "$JOB2" --program "$D/u.mpc" --input g --tokens "$D/tokens2" --n $M \
    --threads 2 --window 8 --int --csv "$D/load.csv" > "$D/load.json" 2> "$D/load.err" ||
    fail "contrib-load: $(cat "$D/load.err")"
grep -q "\"accepted\": $M, " "$D/load.json" || fail "contrib-load: $(cat "$D/load.json") $(cat "$D/load.err")"
grep -q '"retries": [1-9]' "$D/load.json" || fail "no contribution was refused for now (pending table of 12): $(cat "$D/load.json")"
"$BIN/mpc" result "$D/u.mpc" --job "$JOB2" --config "$C" --timeout 60000 > "$D/mpc2.out" 2> "$D/mpc.err" ||
    fail "result (second job): $(cat "$D/mpc.err")"
"$BIN/mpcc" --eval "$D/u.mpc" --input g=@"$D/load.csv" > "$D/eval2.out" 2> "$D/eval.err" ||
    fail "mpcc --eval: $(cat "$D/eval.err")"
head -1 "$D/eval2.out" | grep -qx "n = $M" || fail "mpcc --eval counted $(head -1 "$D/eval2.out")"
cmp -s "$D/mpc2.out" "$D/eval2.out" || fail "the second job gave $(cat "$D/mpc2.out") but mpcc --eval $(cat "$D/eval2.out")"
ok "$M contributions made first, then sent 8 at a time from 2 connections (contrib-load; $(sed 's/.*"retries": \([0-9]*\).*/\1/' "$D/load.json") resends of refusals for now): sums equal mpcc --eval"

for tok in $(head -3 "$D/tokens"); do
    grep -q "$tok" "$D"/c/*.log && fail "a token reached a log"
done
grep -q "$HALF" "$D"/c/*.log && fail "a contributed value reached a log"
ok "no token or value in any log"
