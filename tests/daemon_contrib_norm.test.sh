#!/bin/sh
# A contribution collection with an L2-norm bound, with real daemons (circuits/LANGUAGE.md,
# "Contributions"; docs/contributions.md): a 2-party cluster serves `input g: fix[8] from
# contributors in -1..1, norm <= 1.5`.  The SDK refuses a contribution over the bound before
# anything is sent; through the SDK's test-only switch MPC_TEST_CONTRIB_INVALID=norm a few are
# sent anyway (every element in range, the norm's slack encoded as 0, proved honestly): the
# daemons drop them and count them as invalid.  Contributions exactly at the bound are
# included.  The job's count and sums equal `mpcc --eval` on every contribution sent, which
# leaves the over-norm ones out and says how many.  Then the release rule min_contributors
# (docs/governance.md) counts a collection's valid contributions: with min_contributors = 5 on
# one party, a job whose collection includes 4 valid contributions (and 2 invalid ones, which
# do not count) has its outputs withheld, the audit record saying `withheld_by:
# min_contributors`; one with 5 is released.  Prints `ok …` per check; exits non-zero
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
"$BIN/mpcd" contributor-token make "$D/keys/token.key" 40 > "$D/tokens" || fail "contributor-token make"

PROG="$D/fl.mpc"   # for contribute (tests/lib.sh)

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

# --- min_contributors counts the valid contributions ------------------------------------------
# set_rule PARTY KEY VALUE: sets KEY in PARTY's [policy] and reloads PARTY.
set_rule() {
    sed -i "/^$2 = /d; s/^allow_any_program = true$/allow_any_program = true\n$2 = $3/" "$D/$1.ini"
    n=$(grep -c "reload: configuration from\|reload refused" "$D/$1.log")
    kill -HUP "$(cat "$D/$1.pid")" || fail "SIGHUP $1"
    i=0
    until [ "$(grep -c "reload: configuration from\|reload refused" "$D/$1.log")" -gt "$n" ]; do
        i=$((i + 1)); [ $i -lt 100 ] || fail "$1 did not reload"; sleep 0.1
    done
    grep -q "reload refused" "$D/$1.log" && fail "$1 refused the reload"
    return 0
}
set_rule b min_contributors 5
T=$((N + NBAD + 2))   # the next unused token
VALID="0.5, -0.25, 0, 0, 0, 0, 0, 1"
for want in 4 5; do
    JOB=$("$BIN/mpc" submit "$D/fl.mpc" --config "$C" --max-count $want) || fail "submit ($want)"
    for k in 1 2; do   # invalid ones first: dropped, and not counted as contributors
        contribute $T "$OVER" MPC_TEST_CONTRIB_INVALID=norm || fail "an invalid contribution: $(cat "$D/err")"
        T=$((T + 1))
    done
    sleep 1
    : > "$D/all.csv"
    i=0
    while [ $i -lt $want ]; do
        contribute $T "$VALID" || fail "contribution $i of $want: $(cat "$D/err")"
        echo "$VALID" >> "$D/all.csv"
        T=$((T + 1)); i=$((i + 1))
    done
    "$BIN/mpc" result "$D/fl.mpc" --job "$JOB" --config "$C" --timeout 60000 > "$D/mpc.out" 2> "$D/mpc.err" ||
        fail "result ($want): $(cat "$D/mpc.err")"
    if [ $want -lt 5 ]; then
        grep -qx "n = withheld" "$D/mpc.out" || fail "4 contributors, min_contributors = 5: $(cat "$D/mpc.out")"
        grep -qx "total = withheld, withheld, withheld, withheld, withheld, withheld, withheld, withheld" "$D/mpc.out" ||
            fail "4 contributors, the sums: $(cat "$D/mpc.out")"
        grep -q "fewer than min_contributors = 5 contributors (valid contributions and the clients of other inputs) gave inputs (4 did)" \
            "$D/mpc.err" || fail "the contributors note: $(cat "$D/mpc.err")"
        for p in a b; do
            tail -n 1 "$D/state-$p/audit.log" | grep -q '"withheld":8,"withheld_by":"min_contributors"' ||
                fail "$p's audit record: $(tail -n 1 "$D/state-$p/audit.log")"
            tail -n 1 "$D/state-$p/audit.log" | grep -q '"release":{"min_rows":0,"min_contributors":5,"contributors":4}' ||
                fail "$p's audit record, the rule: $(tail -n 1 "$D/state-$p/audit.log")"
        done
        ok "4 valid contributions (2 invalid not counted) under min_contributors = 5: every output withheld, the audit records say min_contributors"
    else
        "$BIN/mpcc" --eval "$D/fl.mpc" --input g=@"$D/all.csv" > "$D/eval.out" 2> "$D/eval.err" || fail "mpcc --eval"
        cmp -s "$D/mpc.out" "$D/eval.out" || fail "5 contributors: $(cat "$D/mpc.out") vs $(cat "$D/eval.out")"
        grep -q withheld "$D/mpc.out" "$D/mpc.err" && fail "withheld with 5 contributors: $(cat "$D/mpc.err")"
        tail -n 1 "$D/state-b/audit.log" | grep -q '"release":{"min_rows":0,"min_contributors":5,"contributors":5}' ||
            fail "b's audit record, the rule: $(tail -n 1 "$D/state-b/audit.log")"
        ok "5 valid contributions under min_contributors = 5: released, equal to mpcc --eval"
    fi
done
