#!/bin/sh
# The audit log on real daemons (scripts/cluster keeps one per party; docs/governance.md):
#  1. after a job that ran, every party's log holds one record co-signed by all three parties,
#     and `mpcd audit verify` passes on each with the keys of its configuration;
#  2. the record names the job, its submitter and the clients that gave each input, and holds
#     no input value;
#  3. a job that failed (cancelled while waiting for an input) is recorded too, with its
#     outcome and reason;
#  4. a restarted daemon goes on with the same chain;
#  5. an edited or truncated copy of a log fails verification, naming the record.
set -u
BIN=${MPC_BIN:-$(pwd)/bin}
export MPC_BIN="$BIN"
D=$(mktemp -d /tmp/mpcd-audit.XXXXXX)
cleanup() { scripts/cluster down --dir "$D" >/dev/null 2>&1; rm -rf "$D"; }
trap cleanup EXIT
. tests/lib.sh
MPC="$BIN/mpc"
MPCD="$BIN/mpcd"

C=$(scripts/cluster up 3 --prep dealer --dir "$D" --set limits.peer_timeout_ms=2000) || fail "cluster did not start"

# --- 1. a completed job, co-signed everywhere ---------------------------------------------
out=$(timeout 30 "$MPC" run examples/secure_sum.mpc --config "$C" --input x=918273645 --input y=2 --input z=3) ||
    fail "mpc run"
[ "$out" = "total = 918273650" ] || fail "wrong result: $out"
# A record is written when the job ends on each party: give the slowest a moment.
records() { [ -f "$D/state-$1/audit.log" ] && wc -l < "$D/state-$1/audit.log" || echo 0; }
i=0
while [ $i -lt 50 ]; do
    [ "$(records a)" -ge 1 ] && [ "$(records b)" -ge 1 ] && [ "$(records c)" -ge 1 ] && break
    sleep 0.1
    i=$((i + 1))
done
for p in a b c; do
    [ "$(records $p)" = 1 ] || fail "party $p's log has $(records $p) records, not 1"
    v=$("$MPCD" audit verify --config "$D/$p.ini") || fail "verify $p: $v"
    echo "$v" | grep -q "1 records of party $p intact" || fail "verify $p: $v"
    echo "$v" | grep -q "lack" && fail "party $p's record lacks a co-signature: $v"
done
ok "every party's log holds the job, co-signed by a, b and c, and verifies"

# --- 2. what the record says, and what it does not -----------------------------------------
show=$("$MPCD" audit show --config "$D/b.ini") || fail "audit show"
echo "$show" | grep -q "stmt.submitter: client$" || fail "no submitter in: $show"
echo "$show" | grep -q "stmt.inputs.0.client: client$" || fail "no input giver in: $show"
echo "$show" | grep -q "stmt.outcome: done" || fail "no outcome in: $show"
echo "$show" | grep -q "co-signed by: b a c\|co-signed by: b c a" || fail "co-signers: $show"
grep -q 918273645 "$D"/state-*/audit.log* && fail "an input value appears in an audit log"
"$MPCD" audit show --json --config "$D/a.ini" | python3 -c '
import json, sys
recs = [json.loads(l) for l in sys.stdin]
assert len(recs) == 1 and recs[0]["stmt"]["parties"] == ["a", "b", "c"], recs
' || fail "audit show --json is not one JSON record per line"
ok "the record names job, submitter and input givers and holds no input value"

# --- 3. a failed job is recorded --------------------------------------------------------------
J=$("$MPC" submit examples/secure_sum.mpc --config "$D/client-a.ini" --input x=1) || fail "submit"
"$MPC" cancel "$J" --config "$D/client-a.ini" >/dev/null || fail "cancel"
i=0
while [ $i -lt 50 ] && [ "$(records a)" -lt 2 ]; do sleep 0.1; i=$((i + 1)); done
[ "$(records a)" = 2 ] || fail "the cancelled job is not in a's log"
"$MPCD" audit show --config "$D/a.ini" | grep -q "local.reason: cancelled by client client_a" ||
    fail "the cancelled job's reason is not recorded"
"$MPCD" audit verify --config "$D/a.ini" >/dev/null || fail "verify after the cancelled job"
ok "a cancelled job is recorded with its reason"

# --- 4. a restart continues the chain ----------------------------------------------------------
scripts/cluster restart b --dir "$D" >/dev/null || fail "restart b"
out=$(timeout 30 "$MPC" run examples/secure_sum.mpc --config "$C" --input x=1 --input y=2 --input z=3) ||
    fail "mpc run after the restart"
i=0
while [ $i -lt 50 ] && [ "$(records b)" -lt 3 ]; do sleep 0.1; i=$((i + 1)); done
v=$("$MPCD" audit verify --config "$D/b.ini") || fail "verify b after its restart: $v"
echo "$v" | grep -q "3 records of party b intact" || fail "b after its restart: $v"
ok "a restarted daemon extends its chain"

# --- 5. tampering ---------------------------------------------------------------------------
cp "$D/state-c/audit.log" "$D/t.log"
cp "$D/state-c/audit.log.head" "$D/t.log.head"
sed -i '2s/"elements":1/"elements":7/' "$D/t.log"
v=$("$MPCD" audit verify "$D/t.log" --config "$D/c.ini") && fail "an edited log verified"
echo "$v" | grep -q "record 2: error:" || fail "the edit is not named: $v"
cp "$D/state-c/audit.log" "$D/t.log"
head -n 2 "$D/state-c/audit.log" > "$D/t.log"
v=$("$MPCD" audit verify "$D/t.log" --config "$D/c.ini") && fail "a truncated log verified"
echo "$v" | grep -q "removed from the end" || fail "the truncation is not named: $v"
ok "an edited and a truncated log fail verification"
