#!/bin/sh
# Differential privacy on a collection's aggregate, with real daemons (circuits/LANGUAGE.md,
# "Contributions"; docs/contributions.md, "Differential privacy on the aggregate"): a 2-party
# cluster serves `input g: fix[3] from contributors in -1..1` to a program releasing
# dp_sum(g, -1, 1, 1.0) (the element-wise sum, each element's binomial noise sized for
# (1/3, 1e-6/3): one contributor moves all three) and dp_count(g, 0.5).  Binomial noise never
# exceeds m/2 (m its coins, from mpcc --stats), so each noisy value must lie within m/2 of the
# floor of the exact sum (and of the count) that `mpcc --eval` gives for the same
# contributions; and the record (kind, eps, coins) is what the daemons' audit log shows.
# Prints `ok …` per check; exits non-zero at the first failure.
set -u
BIN=${MPC_BIN:-$(pwd)/bin}
export MPC_BIN="$BIN"
D=$(mktemp -d /tmp/mpcd-cdp.XXXXXX)
cleanup() { scripts/cluster down --dir "$D" >/dev/null 2>&1; rm -rf "$D"; }
trap cleanup EXIT

. tests/lib.sh

N=8
C=$(scripts/cluster up 2 --dir "$D" --contributors --set limits.contrib_window_ms=120000 \
    --set limits.input_timeout_ms=180000 --set limits.peer_timeout_ms=20000 --set mpcd.pool_triples=0) ||
    fail "cluster did not start"
CC="$D/client-contributors.ini"

cat > "$D/dp.mpc" <<'MPC'
party a, b
input g: fix[3] from contributors in -1..1
output s = dp_sum(g, -1, 1, 1.0), n = dp_count(g, 0.5), raw = sum(g) to a, b
MPC
"$BIN/mpcc" --stats "$D/dp.mpc" > "$D/stats" 2>&1 || fail "mpcc --stats: $(cat "$D/stats")"
MS=$(sed -n 's/^dp: s dp_sum of contributions binomial eps 1 delta 1e-06 sensitivity 1 coins \([0-9]*\) .*/\1/p' "$D/stats")
MN=$(sed -n 's/^dp: n dp_count binomial eps 0.5 delta 1e-06 sensitivity 1 coins \([0-9]*\) .*/\1/p' "$D/stats")
[ -n "$MS" ] && [ -n "$MN" ] || fail "mpcc --stats has no dp records: $(grep dp: "$D/stats")"
ok "records: dp_sum of contributions ($MS coins per element), dp_count ($MN coins)"

JOB=$("$BIN/mpc" submit "$D/dp.mpc" --config "$C" --max-count $N) || fail "submit"
"$BIN/mpcd" contributor-token make "$D/keys/token.key" $N > "$D/tokens" || fail "contributor-token make"
python3 - "$N" > "$D/all.csv" <<'PY'
import random, sys
random.seed(11)
for i in range(int(sys.argv[1])):
    print(", ".join("%g" % (random.randint(-64, 64) / 64) for _ in range(3)))
PY
i=1
while read -r v; do
    sed -n "${i}p" "$D/tokens" > "$D/token"
    echo "$v" > "$D/one.csv"
    "$BIN/mpc" contribute "$D/dp.mpc" --job "$JOB" --config "$CC" --token @"$D/token" \
        --input g=@"$D/one.csv" 2> "$D/err" || fail "contribution $i: $(cat "$D/err")"
    i=$((i + 1))
done < "$D/all.csv"
ok "$N contributions sent"

"$BIN/mpc" result "$D/dp.mpc" --job "$JOB" --config "$C" --timeout 60000 > "$D/mpc.out" 2> "$D/mpc.err" ||
    fail "result: $(cat "$D/mpc.err")"
"$BIN/mpcc" --eval "$D/dp.mpc" --input g=@"$D/all.csv" > "$D/eval.out" 2> "$D/eval.err" ||
    fail "mpcc --eval: $(cat "$D/eval.err")"
python3 - "$D/mpc.out" "$D/eval.out" "$MS" "$MN" "$N" <<'PY' || fail "a noisy value is out of its bound (above)"
import math, sys
def read(p):
    out = {}
    for line in open(p):
        k, v = line.split(" = ", 1)
        out[k] = [float(x) for x in v.split(",")]
    return out
mpc, ev = read(sys.argv[1]), read(sys.argv[2])
ms, mn, n = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
bad = 0
if mpc["raw"] != ev["raw"]:
    print("raw: mpc %r, mpcc --eval %r" % (mpc["raw"], ev["raw"])); bad = 1
for got, exact in zip(mpc["s"], ev["raw"]):
    if got != int(got) or abs(got - math.floor(exact)) > ms / 2:
        print("s: %r against floor(%r) with m = %d" % (mpc["s"], ev["raw"], ms)); bad = 1
if abs(mpc["n"][0] - n) > mn / 2:
    print("n: %r against %d with m = %d" % (mpc["n"], n, mn)); bad = 1
sys.exit(bad)
PY
ok "the noisy sums lie within m/2 of floor(sum) and the noisy count within m/2 of $N; raw equals mpcc --eval"
for p in a b; do
    grep -q "job=$JOB.*engine:" "$D/$p.log" || fail "party $p's log has no engine line for the job"
done
ok "both daemons ran the job"
