#!/bin/sh
# Table inputs from CSV files with real daemons (circuits/LANGUAGE.md, "Tables"): a 3-daemon
# cluster runs a 2-party program whose parties each give a table from their own CSV file
# (quoted fields, CRLF, a missing cell taking the column's default, the row count of each
# file setting its param); every answer is checked against `mpcc --eval` on the same files,
# with `mpc run` (pushdown on and off) and with one client per party (`mpc submit` and
# `mpc input`).  A bad cell is refused with its position before anything is submitted.
# Prints `ok …` per check; exits non-zero at the first failure.
set -u
BIN=${MPC_BIN:-$(pwd)/bin}
export MPC_BIN="$BIN"
D=$(mktemp -d /tmp/mpcd-tables.XXXXXX)
cleanup() { scripts/cluster down --dir "$D" >/dev/null 2>&1; rm -rf "$D"; }
trap cleanup EXIT

. tests/lib.sh

# Generous timeouts: under the sanitizers (make asan) a party's OT preprocessing for the
# --no-pushdown run leaves its peer waiting more than 2 s for the next message.
C=$(scripts/cluster up 3 --dir "$D" --set limits.peer_timeout_ms=20000 --set limits.input_timeout_ms=20000) ||
    fail "cluster did not start"

cat > "$D/labs.mpc" <<'MPC'
party clinic, lab
param N
param M
input labs: table(age: int in 0..120, glucose: fix = 5 in 0..50, smoker: bool)[N] from clinic
input ref: table(lo: fix in 0..50, hi: fix in 0..50, weight: int in 0..10)[M] from lab
let high = labs.glucose > ref.hi[0]
output n_high = count(high), smokers = sum(labs.smoker), mean_glucose = mean(labs.glucose),
       weighted = sum(ref.weight) * count(labs.age > 40), span = ref.hi - ref.lo to clinic, lab
MPC
printf '\357\273\277id,age,glucose,smoker,"note, free text"\r\n1,30,5.5,1,"a ""quoted"" note"\r\n2,41,,0,\r\n3,52,"7.25",true,x\r\n4,67,6.5,0,"two\r\nlines"\r\n\r\n' > "$D/labs.csv"
printf 'weight;hi;lo\n2;6;4.5\n3;7.5;5\n' > "$D/ref.csv"

tr ';' ',' < "$D/ref.csv" > "$D/ref2.csv"
"$BIN/mpcc" --eval "$D/labs.mpc" --input labs=@"$D/labs.csv" --input ref=@"$D/ref2.csv" > "$D/eval.out" 2> "$D/eval.err" ||
    fail "mpcc --eval: $(cat "$D/eval.err")"
cat > "$D/want" <<'OUT'
n_high = 2
smokers = 2
mean_glucose = 6.0625
weighted = 15
span = 1.5, 2.5
OUT
cmp -s "$D/eval.out" "$D/want" || fail "mpcc --eval gave $(cat "$D/eval.out")"
ok "mpcc --eval on two CSV tables (row counts from the files, a default for a missing cell)"

for flag in "" --no-pushdown; do
    # shellcheck disable=SC2086
    "$BIN/mpc" run "$D/labs.mpc" $flag --config "$C" --input labs=@"$D/labs.csv" --input ref=@"$D/ref2.csv" \
        > "$D/mpc.out" 2> "$D/mpc.err" || fail "mpc run $flag: $(cat "$D/mpc.err")"
    cmp -s "$D/mpc.out" "$D/want" || fail "mpc run $flag gave $(cat "$D/mpc.out")"
    ok "mpc run ${flag:-(pushdown)} with two CSV tables matches mpcc --eval"
done

# One client per party, each with its own file; -D must match the file's row count.
JOB=$("$BIN/mpc" submit "$D/labs.mpc" -D N=4 -D M=2 --config "$D/client-a.ini") || fail "submit"
if "$BIN/mpc" input "$D/labs.mpc" -D N=4 -D M=3 --job "$JOB" --config "$D/client-b.ini" --input ref=@"$D/ref.csv" \
    --sep ';' 2> "$D/err"; then
    fail "-D M=3 with a 2-row file was accepted"
fi
grep -q "2 data rows, but table 'ref' has 3 rows" "$D/err" || fail "row mismatch message: $(cat "$D/err")"
# each client knows the other table's row count only from -D; its own comes from its file
"$BIN/mpc" input "$D/labs.mpc" -D M=2 --job "$JOB" --config "$D/client-a.ini" --input labs=@"$D/labs.csv" ||
    fail "input labs by the clinic"
"$BIN/mpc" input "$D/labs.mpc" -D N=4 --job "$JOB" --config "$D/client-b.ini" --input ref=@"$D/ref.csv" --sep ';' ||
    fail "input ref by the lab"
"$BIN/mpc" result "$D/labs.mpc" -D N=4 -D M=2 --job "$JOB" --config "$D/client-b.ini" > "$D/r.b" || fail "result for the lab"
cmp -s "$D/r.b" "$D/want" || fail "the lab got $(cat "$D/r.b")"
ok "two clients, each giving its own table from its own CSV file (';' for one), match mpcc --eval"

# A bad cell: refused with its position, nothing submitted.
printf 'age,glucose,smoker\n30,5.5,1\n41,6.x,0\n' > "$D/bad.csv"
if "$BIN/mpc" run "$D/labs.mpc" --config "$C" --input labs=@"$D/bad.csv" --input ref=@"$D/ref2.csv" 2> "$D/err"; then
    fail "a bad cell was accepted"
fi
grep -q "bad.csv:3:4: error: column 'glucose': not a valid fix value" "$D/err" || fail "bad cell message: $(cat "$D/err")"
grep -q "submitted" "$D/err" && fail "a job was submitted despite the bad cell"
ok "a bad cell is refused as FILE:LINE:COL before anything is submitted"
