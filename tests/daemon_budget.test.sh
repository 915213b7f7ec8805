#!/bin/sh
# Privacy budgets with real daemons (scripts/cluster, ipc:// endpoints; docs/governance.md,
# "Privacy budget"): examples/dp_histogram.mpc (two DP outputs of ε = 1: a job spends ε = 2)
# approved on every party with dp_budget=3;
#  1. the first job runs, each party logs its spend and the audit record holds it;
#  2. the second is refused by every party, naming the program's budget, the spend and what
#     is left (1 of 3);
#  3. a restart of a party keeps its ledger: the job is still refused there; a party that
#     admitted and reserved a job another party refused gives the spend back;
#  4. a program with an output that is not DP, admitted under the party default dp_budget,
#     is refused naming the output;
#  5. a damaged ledger stops a daemon at start, naming the file.
# Prints `ok …` per check; exits non-zero at the first failure.
set -u
BIN=${MPC_BIN:-$(pwd)/bin}
export MPC_BIN="$BIN"
MPC="$BIN/mpc"
D=$(mktemp -d /tmp/mpcd-budget.XXXXXX)
DATA=examples/data
PROG=examples/dp_histogram.mpc
cleanup() { scripts/cluster down --dir "$D" >/dev/null 2>&1; rm -rf "$D"; }
trap cleanup EXIT
. tests/lib.sh

C=$(scripts/cluster up 3 --dir "$D" --prep dealer --set limits.peer_timeout_ms=20000 \
    --set limits.input_timeout_ms=20000 --set limits.heartbeat_ms=5000) || fail "cluster did not start"

LINE=$("$BIN/mpcc" --approve "$PROG" -D N=1..10000000 --parties a,b,c) || fail "mpcc --approve"
HASH=$(echo "$LINE" | sed 's/^allow = \([0-9a-f]*\) .*/\1/')
reload() {  # reload PARTY
    n=$(grep -c "reload: configuration from\|reload refused" "$D/$1.log")
    kill -HUP "$(cat "$D/$1.pid")" || fail "SIGHUP $1"
    i=0
    until [ "$(grep -c "reload: configuration from\|reload refused" "$D/$1.log")" -gt "$n" ]; do
        i=$((i + 1)); [ $i -lt 100 ] || fail "$1 did not reload"; sleep 0.1
    done
    grep -q "reload refused" "$D/$1.log" && fail "$1 refused the reload: $(grep "reload refused" "$D/$1.log")"
    return 0
}
for p in a b c; do
    sed -i "s/^allow_any_program = true$/allow_any_program = false\n$LINE dp_budget=3/" "$D/$p.ini"
    reload $p
done
run() {  # run: mpc run of the histogram into $D/mpc.out and $D/mpc.err; its status
    "$MPC" run "$PROG" --config "$C" --input age_a=@$DATA/age_a.csv --input age_b=@$DATA/age_b.csv \
        --input age_c=@$DATA/age_c.csv > "$D/mpc.out" 2> "$D/mpc.err"
}

# --- 1. the first job spends 2 of 3 ---------------------------------------------------------
run || fail "the first job: $(cat "$D/mpc.err")"
grep -q "^bands = " "$D/mpc.out" || fail "no noisy histogram: $(cat "$D/mpc.out")"
for p in a b c; do
    grep -q "privacy budget: the job spends eps = 2; program $HASH: 1 of 3 left in total" "$D/$p.log" ||
        fail "$p did not log the spend"
done
i=0
until grep -q '"dp_spent_eps":"2"' "$D"/state-a/audit.log 2>/dev/null; do
    i=$((i + 1)); [ $i -lt 100 ] || fail "no spend in a's audit record"; sleep 0.1
done
grep -q "\"dp_budget_left\":\"program $HASH: 1 of 3 left in total\"" "$D/state-a/audit.log" ||
    fail "the audit record lacks what is left: $(tail -1 "$D/state-a/audit.log")"
ok "the first job runs and spends ε = 2 of 3 (logged, in the audit record)"

# --- 2. the second is refused ---------------------------------------------------------------
run && fail "the second job ran: $(cat "$D/mpc.out")"
WANT="privacy budget of program $HASH exhausted: the job spends eps = 2, 1 of 3 left in total"
grep -q "$WANT" "$D/mpc.err" || fail "the refusal does not name the budget: $(cat "$D/mpc.err")"
for p in a b c; do grep -q "refused a request: $WANT" "$D/$p.log" || fail "$p did not log the refusal"; done
ok "the second job is refused: $WANT"

# --- 3. a restart keeps the ledger ------------------------------------------------------------
grep -q "^total 0 2 .* program $HASH$" "$D/state-b/dp_budget.ledger" || fail "b's ledger: $(cat "$D/state-b/dp_budget.ledger")"
for p in a c; do   # only b keeps a budget now: a refusal can come from b alone
    sed -i "s/ dp_budget=3$//" "$D/$p.ini"
    reload $p
done
scripts/cluster restart b --dir "$D" > "$D/restart.err" 2>&1 || fail "restart b: $(cat "$D/restart.err")"
run && fail "a job ran after b's restart: $(cat "$D/mpc.out")"
grep -q "party b.*$WANT" "$D/mpc.err" || fail "after b's restart: $(cat "$D/mpc.err")"
grep -q "privacy budget ledger $D/state-b/dp_budget.ledger: 1 budgets" "$D/b.log" || fail "b's start did not read its ledger"
"$BIN/mpcd" budget --config "$D/b.ini" > "$D/budget.out" 2>&1 || fail "mpcd budget: $(cat "$D/budget.out")"
grep -qx "program $HASH: eps 2 of 3 spent in total (delta 2e-06), 1 left" "$D/budget.out" ||
    fail "mpcd budget on b: $(cat "$D/budget.out")"
"$BIN/mpcd" budget --config "$D/a.ini" > "$D/budget.out" 2>&1 || fail "mpcd budget on a: $(cat "$D/budget.out")"
grep -qx "program $HASH: eps 2 spent in total (delta 2e-06), no budget configured" "$D/budget.out" ||
    fail "mpcd budget on a, its budget removed: $(cat "$D/budget.out")"
"$BIN/mpcd" budget --config "$D/b.ini" --json > "$D/budget.json" || fail "mpcd budget --json"
python3 - "$D/budget.json" "$HASH" <<'PY' || fail "mpcd budget --json: $(cat "$D/budget.json")"
import json, sys
rows = json.load(open(sys.argv[1]))
assert rows == [{"key": "program " + sys.argv[2], "budget": 3, "period": "total", "spent_eps": 2,
                 "spent_delta": 2e-06, "left": 1}], rows
PY
ok "b's ledger survives its restart: the job is still refused by b; mpcd budget shows spent and left"

# c with a budget of 10 reserves the job's 2 (4 spent), b refuses it: c gives the 2 back.
sed -i "s/^\($LINE\)$/\1 dp_budget=10/" "$D/c.ini"
reload c
run && fail "a job ran though b refuses it: $(cat "$D/mpc.out")"
i=0
until grep -q "program $HASH: 6 of 10 left in total" "$D/c.log"; do
    i=$((i + 1)); [ $i -lt 100 ] || fail "c did not reserve the job"; sleep 0.1
done
i=0
until grep -q "^total 0 2 .* program $HASH$" "$D/state-c/dp_budget.ledger"; do
    i=$((i + 1)); [ $i -lt 200 ] || fail "c kept the spend of a job b refused: $(cat "$D/state-c/dp_budget.ledger")"
    sleep 0.1
done
ok "a job another party refuses is given back on the party that reserved it"

# --- 4. a non-DP output under a budget --------------------------------------------------------
cat > "$D/raw.mpc" <<'PEOF'
party a, b, c
input x: int from a in 0..100
input y: int from b in 0..100
output s = x + y to a
PEOF
sed -i "s/^allow_any_program = false$/allow_any_program = true\ndp_budget = 5/" "$D/a.ini"
reload a
"$MPC" run "$D/raw.mpc" --config "$C" --input x=1 --input y=2 > "$D/mpc.out" 2> "$D/mpc.err" &&
    fail "a program with a raw output ran under a budget: $(cat "$D/mpc.out")"
grep -q "party a.*admits only differentially private outputs: output 's' is not" "$D/mpc.err" ||
    fail "the raw output is not named: $(cat "$D/mpc.err")"
ok "a program whose output 's' is not DP is refused under a budget, naming the output"

# --- 5. a damaged ledger stops the start -------------------------------------------------------
scripts/cluster stop c --dir "$D" > /dev/null 2>&1 || fail "stop c"
printf 'mpcd-dp-ledger 1\ntotal 0 2 0 program %s\n' "$HASH" > "$D/state-c/dp_budget.ledger"
timeout 20 "$BIN/mpcd" --config "$D/c.ini" > "$D/start.err" 2>&1 && fail "c started with a damaged ledger"
grep -q "state-c/dp_budget.ledger: damaged privacy budget ledger: no end line" "$D/start.err" ||
    fail "the refusal does not name the file: $(cat "$D/start.err")"
"$BIN/mpcd" budget --config "$D/c.ini" > "$D/budget.err" 2>&1; rc=$?
[ $rc -eq 2 ] && grep -q "state-c/dp_budget.ledger: damaged privacy budget ledger: no end line" "$D/budget.err" ||
    fail "mpcd budget on a damaged ledger (exit $rc): $(cat "$D/budget.err")"
grep -q "^total 0 2 0 program" "$D/state-c/dp_budget.ledger" || fail "the damaged ledger was changed"
ok "a damaged ledger stops the daemon at start (and mpcd budget), naming the file, and is left as it was"
