#!/bin/sh
# Per-contribution operations of a collection, with real daemons (circuits/LANGUAGE.md,
# "Contributions"; docs/contributions.md, "Per-contribution operations"): a 2-party cluster
# serves `input g: fix[6] from contributors in -1..1` to a program that needs derived entries —
# a variance across contributors (mean(g * g) - mean(g) * mean(g)), the sum of each
# contributor's squared norm (sum(dot(g, g))), a sliced product (sum(g[0:3] * g[3:6])) and a
# linear map of a slice (sum(2.0 * g[1:4] + 1.0), no derived entry).  Each contributor's client
# computes and proves its products; one contributor lies in a derived entry (the SDK's
# test-only switch MPC_TEST_CONTRIB_INVALID=derived adds 1 to it and proves honestly): the
# daemons drop it and count it as invalid.  The outputs equal `mpcc --eval` on the valid
# contributions (sums exactly, the means' secret division within 2^-12) and the plaintext
# computed here in floating point.  Prints `ok …` per check; exits non-zero at the first
# failure.
set -u
BIN=${MPC_BIN:-$(pwd)/bin}
export MPC_BIN="$BIN"
D=$(mktemp -d /tmp/mpcd-cops.XXXXXX)
cleanup() { scripts/cluster down --dir "$D" >/dev/null 2>&1; rm -rf "$D"; }
trap cleanup EXIT

. tests/lib.sh

N=10   # valid contributions
C=$(scripts/cluster up 2 --dir "$D" --contributors --set limits.contrib_window_ms=120000 \
    --set limits.input_timeout_ms=180000 --set limits.peer_timeout_ms=20000 --set mpcd.pool_triples=0) ||
    fail "cluster did not start"
CC="$D/client-contributors.ini"

cat > "$D/ops.mpc" <<'MPC'
party a, b
input g: fix[6] from contributors in -1..1
output n = count(g), mu = mean(g), var = mean(g * g) - mean(g) * mean(g), q = sum(dot(g, g)),
    xy = sum(g[0:3] * g[3:6]), w = sum(2.0 * g[1:4] + 1.0) to a, b
MPC
"$BIN/mpcc" --stats "$D/ops.mpc" > "$D/stats" 2>&1 || fail "mpcc --stats: $(cat "$D/stats")"
grep -q "^contributions: g fix\[6\] in -1..1, derived entries 10: sum(g \* g) 6, sum(dot(g, g)) 1, sum(g\[0:3\] \* g\[3:6\]) 3" "$D/stats" ||
    fail "mpcc --stats names no derived entries: $(cat "$D/stats")"
grep -q "^input: g-contrib from a int\[17\]" "$D/stats" || fail "the circuit input: $(grep input: "$D/stats")"
ok "mpcc --stats: $(grep '^contributions:' "$D/stats")"

JOB=$("$BIN/mpc" submit "$D/ops.mpc" --config "$C" --max-count $N) || fail "submit"
"$BIN/mpcd" contributor-token make "$D/keys/token.key" $((N + 1)) > "$D/tokens" || fail "contributor-token make"

PROG="$D/ops.mpc"   # for contribute (tests/lib.sh)

contribute $((N + 1)) "0.5, 0.5, 0.5, 0.5, 0.5, 0.5" MPC_TEST_CONTRIB_INVALID=derived ||
    fail "the lying contribution was refused on arrival: $(cat "$D/err")"
sleep 1   # its batch: rejected before the count is near
ok "one contribution with a lying derived entry sent (its proof honest)"

python3 - "$N" > "$D/all.csv" <<'PY'
import random, sys
random.seed(7)
for i in range(int(sys.argv[1])):
    print(", ".join("%g" % (random.randint(-64, 64) / 64) for _ in range(6)))
PY
i=1
while read -r v; do
    contribute $i "$v" || fail "contribution $i: $(cat "$D/err")"
    i=$((i + 1))
done < "$D/all.csv"
ok "$N valid contributions sent"

"$BIN/mpc" result "$D/ops.mpc" --job "$JOB" --config "$C" --timeout 60000 > "$D/mpc.out" 2> "$D/mpc.err" ||
    fail "result: $(cat "$D/mpc.err")"
"$BIN/mpcc" --eval "$D/ops.mpc" --input g=@"$D/all.csv" > "$D/eval.out" 2> "$D/eval.err" ||
    fail "mpcc --eval: $(cat "$D/eval.err")"
for p in a b; do
    grep -q "collection 'g-contrib' closed: $N contributions in [0-9]* batches, 1 invalid" "$D/$p.log" ||
        fail "party $p's log does not name the close with 1 invalid: $(grep "closed:" "$D/$p.log")"
done
ok "the lying contribution dropped and counted on both parties"

python3 - "$D/mpc.out" "$D/eval.out" "$D/all.csv" <<'PY' || fail "the outputs differ (above)"
import sys
def read(p):
    out = {}
    for line in open(p):
        k, v = line.split(" = ", 1)
        out[k] = [float(x) for x in v.split(",")]
    return out
mpc, ev = read(sys.argv[1]), read(sys.argv[2])
rows = [[float(x) for x in l.split(",")] for l in open(sys.argv[3]) if l.strip()]
n = len(rows)
mu = [sum(r[e] for r in rows) / n for e in range(6)]
plain = {
    "n": [n],
    "mu": mu,
    "var": [sum(r[e] ** 2 for r in rows) / n - mu[e] ** 2 for e in range(6)],
    "q": [sum(sum(x * x for x in r) for r in rows)],
    "xy": [sum(r[e] * r[3 + e] for r in rows) for e in range(3)],
    "w": [sum(2 * r[e] + 1 for r in rows) for e in range(1, 4)],
}
bad = 0
for k, want in plain.items():
    exact = k in ("n", "q", "xy", "w")
    for a, b, c in zip(mpc[k], ev[k], want):
        if (exact and a != b) or abs(a - b) > 2 ** -12 or abs(a - c) > 2 ** -10:
            print("%s: mpc %r, mpcc --eval %r, plaintext %r" % (k, mpc[k], ev[k], want))
            bad = 1
            break
sys.exit(bad)
PY
ok "variance, sum(dot(g, g)), the sliced product and the linear map equal mpcc --eval and the plaintext"
