#!/bin/sh
# A contribution collection with an L2-norm bound, with real daemons (circuits/LANGUAGE.md,
# "Contributions"; docs/contributions.md): a 2-party cluster serves `input g: fix[8] from
# contributors in -1..1, norm <= 1.5`.  The SDK refuses a contribution over the bound before
# anything is sent; through the SDK's test-only switch MPC_TEST_CONTRIB_INVALID=norm a few are
# sent anyway (every element in range, the norm's slack encoded as 0, proved honestly): the
# daemons drop them and count them as invalid.  Contributions exactly at the bound are
# included.  The job's count and sums equal `mpcc --eval` on every contribution sent, which
# leaves the over-norm ones out and says how many.  Prints `ok …` per check; exits non-zero
# at the first failure.
set -u
BIN=${MPC_BIN:-$(pwd)/bin}
export MPC_BIN="$BIN"
D=$(mktemp -d /tmp/mpcd-cnorm.XXXXXX)
cleanup() { scripts/cluster down --dir "$D" >/dev/null 2>&1; rm -rf "$D"; }
trap cleanup EXIT

. tests/lib.sh

N=12       # valid contributions (3 of them exactly at the bound)
NBAD=3     # over the bound, sent with the test switch
C=$(scripts/cluster up 2 --dir "$D" --contributors --set limits.contrib_window_ms=120000 \
    --set limits.input_timeout_ms=180000 --set limits.peer_timeout_ms=20000 --set mpcd.pool_triples=0) ||
    fail "cluster did not start"
CC="$D/client-contributors.ini"

cat > "$D/fl.mpc" <<'MPC'
party a, b
param D = 8
input g: fix[D] from contributors in -1..1, norm <= 1.5
output n = count(g), total = sum(g) to a, b
MPC
JOB=$("$BIN/mpc" submit "$D/fl.mpc" --config "$C" --max-count $N) || fail "submit"
"$BIN/mpcd" contributor-token make "$D/keys/token.key" $((N + NBAD + 1)) > "$D/tokens" || fail "contributor-token make"

contribute() {  # contribute TOKEN_LINE VALUES [ENV...]: one contribution through `mpc contribute`
    sed -n "$1p" "$D/tokens" > "$D/token"
    echo "$2" > "$D/one.csv"
    shift 2
    env "$@" "$BIN/mpc" contribute "$D/fl.mpc" --job "$JOB" --config "$CC" --token @"$D/token" \
        --input g=@"$D/one.csv" 2> "$D/err"
}

# over the bound (1 + 1 + 1 = 3 > 2.25), every element in range: the SDK refuses it
OVER="1, 1, 1, 0, 0, 0, 0, 0"
contribute $((N + NBAD + 1)) "$OVER" && fail "the SDK sent a contribution over the norm bound"
grep -q "its L2 norm is above the bound" "$D/err" || fail "the SDK's refusal: $(cat "$D/err")"
ok "the SDK refuses a contribution over the norm bound ($(head -c 100 "$D/err"))"

: > "$D/all.csv"
i=0
while [ $i -lt $NBAD ]; do
    contribute $((N + 1 + i)) "$OVER" MPC_TEST_CONTRIB_INVALID=norm ||
        fail "an over-norm contribution was refused on arrival: $(cat "$D/err")"
    echo "$OVER" >> "$D/all.csv"
    i=$((i + 1))
done
sleep 1   # a batch: rejected before the count is near
ok "$NBAD contributions over the norm bound sent with honest proofs"

i=0
while [ $i -lt $N ]; do
    case $((i % 4)) in
        0) v="1, 1, 0.5, 0, 0, 0, 0, 0" ;;                   # 2.25: exactly at the bound
        1) v="-0.5, 0.25, 0, 0.75, -1, 0, 0, 0.125" ;;
        2) v="0, 0, 0, 0, 0, 0, 0, 0" ;;
        *) v="0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, -0.5" ;;   # 2
    esac
    contribute $((i + 1)) "$v" || fail "contribution $i: $(cat "$D/err")"
    echo "$v" >> "$D/all.csv"
    i=$((i + 1))
done
ok "$N valid contributions sent, $((N / 4)) of them exactly at the bound"

"$BIN/mpc" result "$D/fl.mpc" --job "$JOB" --config "$C" --timeout 60000 > "$D/mpc.out" 2> "$D/mpc.err" ||
    fail "result: $(cat "$D/mpc.err")"
"$BIN/mpcc" --eval "$D/fl.mpc" --input g=@"$D/all.csv" > "$D/eval.out" 2> "$D/eval.err" ||
    fail "mpcc --eval: $(cat "$D/eval.err")"
grep -q "mpcc: note: $NBAD contributions to 'g' over its norm bound left out" "$D/eval.err" ||
    fail "mpcc --eval's note: $(cat "$D/eval.err")"
head -1 "$D/eval.out" | grep -qx "n = $N" || fail "mpcc --eval counted $(head -1 "$D/eval.out")"
cmp -s "$D/mpc.out" "$D/eval.out" || fail "the job gave $(cat "$D/mpc.out") but mpcc --eval $(cat "$D/eval.out")"
for p in a b; do
    grep -q "collection 'g-contrib' closed: $N contributions in [0-9]* batches, $NBAD invalid" "$D/$p.log" ||
        fail "party $p's log does not name the close with $NBAD invalid: $(grep "closed:" "$D/$p.log")"
done
ok "count and sums equal mpcc --eval, both leaving the $NBAD over the bound out; each party counted them"
