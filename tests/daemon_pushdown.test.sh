#!/bin/sh
# Owner-local pushdown end to end (circuits/LANGUAGE.md, "Owner-local pushdown"): a 3-party
# cluster runs every example with pushdown (the default) and with --no-pushdown, each answer
# checked against `mpcc --eval`; joint_stats with pushdown needs one triple where without it
# needs 3N + 1; a client that gives only some of the inputs of a local part is refused with a
# message naming them, and --no-pushdown takes them separately.
# Prints `ok …` per check; exits non-zero at the first failure.
set -u
BIN=${MPC_BIN:-$(pwd)/bin}
export MPC_BIN="$BIN"
D=$(mktemp -d /tmp/mpcd-pushdown.XXXXXX)
DATA=examples/data
cleanup() { scripts/cluster down --dir "$D" >/dev/null 2>&1; rm -rf "$D"; }
trap cleanup EXIT

. tests/lib.sh

# Generous timeouts: under the sanitizers (make asan) a party making its OT material for a job
# can leave a peer waiting more than 2 s for the next message.
C=$(scripts/cluster up 3 --dir "$D" --set limits.peer_timeout_ms=20000 --set limits.input_timeout_ms=20000) ||
    fail "cluster did not start"

same() {  # same FILE_A FILE_B TOLERANCE
    python3 - "$1" "$2" "$3" <<'PY'
import sys
a = [l.split(" = ", 1) for l in open(sys.argv[1]).read().splitlines()]
b = [l.split(" = ", 1) for l in open(sys.argv[2]).read().splitlines()]
tol = float(sys.argv[3])
if [x[0] for x in a] != [x[0] for x in b]:
    sys.exit(f"output names differ: {a} {b}")
for (n, va), (_, vb) in zip(a, b):
    xs, ys = va.split(", "), vb.split(", ")
    if len(xs) != len(ys) or any(abs(float(x) - float(y)) > tol for x, y in zip(xs, ys)):
        sys.exit(f"{n}: mpc {va} vs eval {vb}")
PY
}
# The engine's triple count of the last job party a ran ("engine: R rounds, N triples, S squares, …").
last_triples() {
    grep "engine: " "$D/a.log" | tail -n 1 | sed -n 's/.*rounds, \([0-9]*\) triples.*/\1/p'
}
last_squares() {
    grep "engine: " "$D/a.log" | tail -n 1 | sed -n 's/.* triples, \([0-9]*\) squares.*/\1/p'
}
# Multiplications: triples and square pairs.
last_mults() {
    echo $(($(last_triples) + $(last_squares)))
}
check_example() {  # check_example TOL PROG INPUT...
    tol=$1; shift
    prog=$1
    "$BIN/mpcc" --eval --no-pushdown "$@" > "$D/eval.off" || fail "$prog: mpcc --eval --no-pushdown"
    "$BIN/mpcc" --eval "$@" > "$D/eval.out" || fail "$prog: mpcc --eval"
    cmp -s "$D/eval.out" "$D/eval.off" || fail "$prog: mpcc --eval differs with and without pushdown"
    for mode in on off; do
        flag=""
        [ "$mode" = off ] && flag=--no-pushdown
        # shellcheck disable=SC2086
        "$BIN/mpc" run "$@" $flag --config "$C" > "$D/mpc.out" 2> "$D/mpc.err" ||
            fail "$prog (pushdown $mode): mpc run: $(cat "$D/mpc.err")"
        same "$D/mpc.out" "$D/eval.out" "$tol" || fail "$prog (pushdown $mode): MPC and evaluator differ"
        eval "mults_$mode=\$(last_mults)"
    done
    # shellcheck disable=SC2154
    [ "$mults_on" -le "$mults_off" ] || fail "$prog: $mults_on multiplications with pushdown, $mults_off without"
    ok "$prog matches mpcc --eval with and without pushdown ($mults_on and $mults_off multiplications)"
}
check_example 0 examples/secure_sum.mpc --input x=12 --input y=30 --input z=-2
check_example 0 examples/poly.mpc --input x=-7 --input y=123456789
check_example 0.0001 examples/risk_linear.mpc --input x=@$DATA/patient_x4.csv --input w=@$DATA/provider_w4.csv --input bias=-0.5
check_example 0.01 examples/joint_stats.mpc --input xa=@$DATA/ldl_a.csv --input xb=@$DATA/ldl_b.csv --input xc=@$DATA/ldl_c.csv
check_example 0.0001 examples/risk_score.mpc --input x=@$DATA/patient_x8.csv --input w=@$DATA/provider_w8.csv \
    --input bias=-1.25 --input threshold=0.6
check_example 0.001 examples/joint_corr.mpc --input ua=@$DATA/ldl_a.csv --input va=@$DATA/tc_a.csv \
    --input ub=@$DATA/ldl_b.csv --input vb=@$DATA/tc_b.csv --input uc=@$DATA/ldl_c.csv --input vc=@$DATA/tc_c.csv

# joint_stats: N = 1000 per hospital; sum and dot of each hospital's own rows are local, so
# the MPC multiplies once (mean * mean) instead of 3N + 1 times.  Every one of them is a
# square (dot(x, x), mean * mean): square pairs, no triple.
J="--input xa=@$DATA/ldl_a.csv --input xb=@$DATA/ldl_b.csv --input xc=@$DATA/ldl_c.csv"
# shellcheck disable=SC2086
"$BIN/mpc" run examples/joint_stats.mpc --config "$C" $J > /dev/null 2> "$D/err" || fail "joint_stats: $(cat "$D/err")"
t=$(last_triples)/$(last_squares)
[ "$t" = 0/1 ] || fail "joint_stats with pushdown used $t triples/squares, expected 0/1"
# shellcheck disable=SC2086
"$BIN/mpc" run examples/joint_stats.mpc --no-pushdown --config "$C" $J > /dev/null 2> "$D/err" ||
    fail "joint_stats --no-pushdown: $(cat "$D/err")"
t=$(last_triples)/$(last_squares)
[ "$t" = 0/3001 ] || fail "joint_stats without pushdown used $t triples/squares, expected 0/3001"
"$BIN/mpcc" --stats examples/joint_stats.mpc | grep -qx "mpc: gates 22, triples 0, squares 1, comparisons 0, rounds 4" ||
    fail "mpcc --stats: $("$BIN/mpcc" --stats examples/joint_stats.mpc | grep '^mpc:')"
"$BIN/mpcc" --stats examples/joint_stats.mpc | grep -q "^local a: gates [0-9]*, inputs xa, derived xa\." ||
    fail "mpcc --stats shows no local part of a"
ok "joint_stats needs 1 square pair with pushdown, 3001 without (and no triple)"

# A local part with two inputs of party a: given by two separate clients (or calls) it cannot
# be computed by either, so the SDK refuses before anything is sent; --no-pushdown takes them.
cat > "$D/two.mpc" <<'P'
party a, b, c
input u: int[3] from a
input v: int[3] from a
input y: int from b
output r = dot(u, v) + y to a, b, c
P
"$BIN/mpcc" --eval "$D/two.mpc" --input u=1,2,3 --input v=4,5,6 --input y=10 | grep -qx "r = 42" || fail "two.mpc eval"
if "$BIN/mpc" submit "$D/two.mpc" --config "$D/client-a.ini" --input u=1,2,3 > "$D/out" 2> "$D/err"; then
    fail "a submit with u but not v was accepted"
fi
grep -q "inputs 'u', 'v' of party 'a' must be given together" "$D/err" || fail "refusal message: $(cat "$D/err")"
grep -q -- "--no-pushdown" "$D/err" || fail "refusal does not suggest --no-pushdown: $(cat "$D/err")"
JOB=$("$BIN/mpc" submit "$D/two.mpc" --config "$D/client-a.ini") || fail "submit two.mpc"
if "$BIN/mpc" input "$D/two.mpc" --job "$JOB" --config "$D/client-a.ini" --input v=4,5,6 2> "$D/err"; then
    fail "an input of v alone was accepted"
fi
grep -q "must be given together" "$D/err" || fail "input refusal message: $(cat "$D/err")"
"$BIN/mpc" input "$D/two.mpc" --job "$JOB" --config "$D/client-a.ini" --input u=1,2,3 --input v=4,5,6 ||
    fail "u and v together"
"$BIN/mpc" input "$D/two.mpc" --job "$JOB" --config "$D/client-b.ini" --input y=10 || fail "y by client_b"
"$BIN/mpc" result "$D/two.mpc" --job "$JOB" --config "$D/client-a.ini" | grep -qx "r = 42" || fail "two.mpc result"
ok "inputs of one local part given separately are refused, naming them; given together they run"
JOB=$("$BIN/mpc" submit "$D/two.mpc" --no-pushdown --config "$D/client-a.ini") || fail "submit --no-pushdown"
"$BIN/mpc" input "$D/two.mpc" --no-pushdown --job "$JOB" --config "$D/client-a.ini" --input u=1,2,3 || fail "u alone"
"$BIN/mpc" input "$D/two.mpc" --no-pushdown --job "$JOB" --config "$D/client-a.ini" --input v=4,5,6 || fail "v alone"
"$BIN/mpc" input "$D/two.mpc" --no-pushdown --job "$JOB" --config "$D/client-b.ini" --input y=10 || fail "y"
"$BIN/mpc" result "$D/two.mpc" --no-pushdown --job "$JOB" --config "$D/client-a.ini" | grep -qx "r = 42" ||
    fail "two.mpc result without pushdown"
ok "with --no-pushdown the same inputs are taken separately"
# Inputs of one party outside its local part still come from any client at any time.
cat > "$D/three.mpc" <<'P'
party a, b, c
input u: int[3] from a
input z: int from a
input y: int from b
output r = sum(u) * y + z to a, b, c
P
"$BIN/mpcc" --stats "$D/three.mpc" | grep -q "^local a: gates [0-9]*, inputs u, derived u.sum" || fail "three.mpc: no local part"
JOB=$("$BIN/mpc" submit "$D/three.mpc" --config "$D/client-a.ini" --input z=2) || fail "submit three.mpc with z"
"$BIN/mpc" input "$D/three.mpc" --job "$JOB" --config "$D/client-a.ini" --input u=1,2,3 || fail "u later"
"$BIN/mpc" input "$D/three.mpc" --job "$JOB" --config "$D/client-b.ini" --input y=-5 || fail "y"
"$BIN/mpc" result "$D/three.mpc" --job "$JOB" --config "$D/client-c.ini" | grep -qx "r = -28" || fail "three.mpc result"
ok "a party's other inputs are given apart from its local part's"
scripts/cluster down --dir "$D" > /dev/null
