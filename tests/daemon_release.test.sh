#!/bin/sh
# Release rules with real daemons (scripts/cluster, ipc:// endpoints; docs/governance.md,
# "Release rules"): a histogram over three hospitals' ages, one bin of 3 people;
#  1. no rule: every bin exact (as mpcc --eval);
#  2. min_rows = 10 on party b only (a reload): the strictest applies on every party, the bin
#     of 3 is withheld (no value, the note on mpc's stderr, the fact in every party's log
#     without a value), the other bins and a mean over 12 rows (computed by its owner: pushdown) exact;
#  2b. min_rows = 14 on a noisy (dp_histogram) release: the noisy bin of 3 withheld, the other
#     bin released as its noisy value;
#  3. a reload to min_rows = 2: the bin is released;
#  4. min_contributors = 3 on party c: one client gave every input, every output is withheld.
# Prints `ok …` per check; exits non-zero at the first failure.
set -u
BIN=${MPC_BIN:-$(pwd)/bin}
export MPC_BIN="$BIN"
MPC="$BIN/mpc"
D=$(mktemp -d /tmp/mpcd-release.XXXXXX)
cleanup() { scripts/cluster down --dir "$D" >/dev/null 2>&1; rm -rf "$D"; }
trap cleanup EXIT
. tests/lib.sh

C=$(scripts/cluster up 3 --dir "$D" --set limits.peer_timeout_ms=20000 --set limits.input_timeout_ms=20000) ||
    fail "cluster did not start"

cat > "$D/h.mpc" <<'EOF'
party a, b, c
input xa: int[12] from a in 0..120
input xb: int[12] from b in 0..120
input xc: int[12] from c in 0..120
output h = histogram(concat(xa, xb, xc), [0, 20, 40, 60, 121]), m = mean(xa) to a, b, c
EOF
# bins: [0,20) 3 people, [20,40) 11, [40,60) 12, [60,121] 10
set -- --input xa=5,7,25,30,35,45,50,61,70,80,51,52 --input xb=12,21,22,23,24,41,42,43,62,90,53,54 \
    --input xc=26,27,28,29,44,46,47,68,65,99,66,67
"$BIN/mpcc" --eval "$D/h.mpc" "$@" > "$D/eval.out" || fail "mpcc --eval"
grep -qx "h = 3, 11, 12, 10" "$D/eval.out" || fail "the evaluator's histogram: $(cat "$D/eval.out")"

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
run() {  # run: mpc run into $D/mpc.out and $D/mpc.err
    "$MPC" run "$D/h.mpc" "$@" --config "$C" > "$D/mpc.out" 2> "$D/mpc.err" || fail "mpc run: $(cat "$D/mpc.err")"
}

# --- 1. no rule ---------------------------------------------------------------------------
run "$@"
cmp -s "$D/mpc.out" "$D/eval.out" || fail "without a rule: $(cat "$D/mpc.out") vs $(cat "$D/eval.out")"
grep -q withheld "$D/mpc.err" && fail "withheld without a rule: $(cat "$D/mpc.err")"
ok "without a release rule every bin is exact"

# --- 2. min_rows = 10 on b only -------------------------------------------------------------
set_rule b min_rows 10
run "$@"
grep -qx "h = withheld, 11, 12, 10" "$D/mpc.out" || fail "min_rows = 10: $(cat "$D/mpc.out")"
grep -qx "$(grep "^m = " "$D/eval.out")" "$D/mpc.out" || fail "the mean over 12 rows: $(cat "$D/mpc.out")"
grep -q "output 'h' element 0 withheld: fewer than min_rows = 10 rows" "$D/mpc.err" ||
    fail "the note: $(cat "$D/mpc.err")"
for p in a b c; do
    grep -q "release: output 'h' element 0 withheld: fewer than min_rows = 10 rows" "$D/$p.log" ||
        fail "$p did not apply b's rule"
done
job=$(grep -o "job=[0-9a-f]*.*release: output 'h'" "$D/a.log" | head -1 | cut -d' ' -f1)
grep "$job" "$D"/*.log | grep -q "= 3\b\|value" && fail "a log line carries a value"
for p in a b c; do
    grep -q '"name":"h","elements":4,"to":\["a","b","c"\],"withheld":1,"withheld_by":"min_rows"}' "$D/state-$p/audit.log" ||
        fail "$p's audit record does not say what was withheld: $(tail -n 1 "$D/state-$p/audit.log")"
    grep -q '"release":{"min_rows":10,"min_contributors":0,"contributors":1}' "$D/state-$p/audit.log" ||
        fail "$p's audit record does not give the rule"
done
"$BIN/mpcd" audit verify --config "$D/a.ini" > "$D/verify.out" 2>&1 || fail "mpcd audit verify: $(cat "$D/verify.out")"
ok "min_rows = 10 on one party withholds the bin of 3 on every party, the rest exact; the audit records say so"

"$MPC" run "$D/h.mpc" "$@" --json --config "$C" > "$D/mpc.json" 2> "$D/mpc.err" || fail "mpc run --json"
python3 - "$D/mpc.json" <<'PY' || fail "the JSON result: $(cat "$D/mpc.json")"
import json, sys
o = {x["name"]: x for x in json.load(open(sys.argv[1]))["outputs"]}
assert o["h"]["values"] == [None, 11, 12, 10], o
assert "fewer than min_rows = 10" in o["h"]["withheld"], o
assert "withheld" not in o["m"], o
PY
ok "mpc run --json gives null for the withheld bin and the note"

# an element-wise output longer than the listable 65536 elements is refused whole, with the note
printf 'party a, b, c\ninput x: int[70000] from a\noutput y = x + x to a, b, c\n' > "$D/long.mpc"
python3 -c "print('\n'.join(str(i) for i in range(70000)))" > "$D/long.csv"
out=$("$MPC" run "$D/long.mpc" --input x=@"$D/long.csv" --config "$C" 2>&1) && fail "the long output was released: $out"
echo "$out" | grep -q "output 'y' all elements withheld: fewer than min_rows = 10 rows" || fail "the long output: $out"
ok "an element-wise output of 70000 elements is withheld whole under min_rows = 10"

pyclient - "$C" "$D/h.mpc" > "$D/py.out" 2>&1 <<'PY' ||
import sys
from mpcclient import Client
with Client(sys.argv[1]) as c:
    job = c.create_job(sys.argv[2])
    job.input("xa", [5, 7, 25, 30, 35, 45, 50, 61, 70, 80, 51, 52])
    job.input("xb", [12, 21, 22, 23, 24, 41, 42, 43, 62, 90, 53, 54])
    job.input("xc", [26, 27, 28, 29, 44, 46, 47, 68, 65, 99, 66, 67])
    job.submit(all_inputs=True)
    h = job.output("h", timeout=60)
    assert h == [None, 11, 12, 10], h
    assert "element 0 withheld: fewer than min_rows = 10 rows" in job.withheld("h"), job.withheld("h")
    job.output("m", timeout=60)
    assert job.withheld("m") == "", job.withheld("m")
PY
    fail "the Python binding: $(cat "$D/py.out")"
ok "the Python binding gives None for the withheld bin and the note"

# --- 2b. a rule on a noisy (DP) release ------------------------------------------------------
# dp_histogram's noise at eps = 5 is Bin(20, 1/2) - 10 per bin (mpcc --stats: 40 daBits, 2 bins),
# so the noisy bin of 3 is at most 13 and the noisy bin of 33 at least 23: under min_rows = 14
# the first is always withheld, the second always released, as its noisy value.  The rule
# compares the noisy value inside MPC (docs/governance.md, "Release rules and noise").
cat > "$D/dp.mpc" <<'EOF'
party a, b, c
input xa: int[12] from a in 0..120
input xb: int[12] from b in 0..120
input xc: int[12] from c in 0..120
output h = dp_histogram(concat(xa, xb, xc), [0, 20, 121], 5.0) to a, b, c
EOF
"$BIN/mpcc" --stats "$D/dp.mpc" | grep -qx "dabits: 40" || fail "the DP program's noise: $("$BIN/mpcc" --stats "$D/dp.mpc")"
set_rule b min_rows 14
"$MPC" run "$D/dp.mpc" "$@" --config "$C" > "$D/dp.out" 2> "$D/dp.err" || fail "mpc run dp: $(cat "$D/dp.err")"
v=$(sed -n 's/^h = withheld, \(-\{0,1\}[0-9]*\)$/\1/p' "$D/dp.out")
[ -n "$v" ] && [ "$v" -ge 23 ] && [ "$v" -le 43 ] || fail "min_rows = 14 on a noisy histogram: $(cat "$D/dp.out")"
grep -q "output 'h' element 0 withheld: fewer than min_rows = 14 rows" "$D/dp.err" || fail "the DP note: $(cat "$D/dp.err")"
ok "min_rows = 14 on a noisy histogram withholds the noisy bin of 3 and releases the other's noisy value ($v)"

# --- 3. a reload changes the rule -----------------------------------------------------------
set_rule b min_rows 2
run "$@"
cmp -s "$D/mpc.out" "$D/eval.out" || fail "min_rows = 2: $(cat "$D/mpc.out")"
ok "a reload to min_rows = 2 releases the bin of 3"

# --- 4. min_contributors = 3 on c ------------------------------------------------------------
set_rule c min_contributors 3
run "$@"
grep -qx "h = withheld, withheld, withheld, withheld" "$D/mpc.out" || fail "min_contributors: $(cat "$D/mpc.out")"
grep -qx "m = withheld" "$D/mpc.out" || fail "min_contributors, the mean: $(cat "$D/mpc.out")"
grep -q "output 'h' all elements withheld: fewer than min_contributors = 3 clients gave inputs (1 did)" "$D/mpc.err" ||
    fail "the contributors note: $(cat "$D/mpc.err")"
grep -q "output 'm' is withheld: fewer than min_contributors = 3" "$D/mpc.err" || fail "the mean's note: $(cat "$D/mpc.err")"
grep -q '"withheld":4,"withheld_by":"min_contributors"' "$D/state-c/audit.log" || fail "c's audit record: contributors"
ok "min_contributors = 3 withholds every output of a job one client gave all inputs to"
