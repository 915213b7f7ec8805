#!/bin/sh
# Stored datasets with real daemons (docs/datasets.md): a 3-daemon cluster; party a's client
# uploads a CSV table once as dataset hosp_a.labs; every daemon is restarted; `mpc datasets`
# lists it alike from every daemon; a program reading it (`from a dataset "hosp_a.labs"`, its
# row count from the dataset) gives what `mpcc --eval` gives on the original CSV; a client
# that is not a writer cannot replace or delete it, a program not among its readers cannot
# read it; an append adds rows; a corrupted or truncated share file is refused naming it; a
# delete leaves no share file.  Prints `ok …` per check; exits non-zero at the first failure.
set -u
BIN=${MPC_BIN:-$(pwd)/bin}
export MPC_BIN="$BIN"
D=$(mktemp -d /tmp/mpcd-datasets.XXXXXX)
cleanup() { scripts/cluster down --dir "$D" >/dev/null 2>&1; rm -rf "$D"; }
trap cleanup EXIT

. tests/lib.sh

C=$(scripts/cluster up 3 --dir "$D" --set limits.peer_timeout_ms=20000 --set limits.input_timeout_ms=20000) ||
    fail "cluster did not start"

cat > "$D/stats.mpc" <<'MPC'
party a, b, c
param N
input labs: table(age: int in 0..120, glucose: fix in 0..50)[N] from a dataset "hosp_a.labs"
input w: int from b in 0..10
output n_old = count(labs.age > 40), sum_g = sum(labs.glucose), s = sum(labs.age) * w to b
MPC
# Another program on the same dataset, not among its readers.
sed 's/sum(labs.age) \* w/sum(labs.age) + w/' "$D/stats.mpc" > "$D/other.mpc"
printf 'id,age,glucose\n1,30,5.5\n2,41,6.25\n3,52,7.75\n4,67,6.5\n5,19,4.75\n' > "$D/labs.csv"
printf 'age,glucose,id\n70,8.5,6\n45,5.25,7\n' > "$D/more.csv"

HASH=$("$BIN/mpcc" --approve -D N=1..10000000 "$D/stats.mpc" | awk '{print $3}')
[ ${#HASH} -eq 64 ] || fail "no program hash from mpcc --approve"
for p in a b c; do
    printf '\n[dataset hosp_a.labs]\nwriters = client_a\nreaders = %s\n' "$HASH" >> "$D/$p.ini"
done
scripts/cluster down --dir "$D" >/dev/null && scripts/cluster start --dir "$D" >/dev/null || fail "restart with rights"

SCHEMA='age: int in 0..120, glucose: fix in 0..50'
"$BIN/mpc" upload "$D/labs.csv" --name hosp_a.labs --schema "$SCHEMA" --party a --config "$D/client-a.ini" \
    > "$D/up.out" 2> "$D/up.err" || fail "upload: $(cat "$D/up.err")"
grep -q "5 rows" "$D/up.out" || fail "upload said $(cat "$D/up.out")"
for p in a b c; do
    ls "$D/state-$p/datasets/" | grep -q '^hosp_a.labs.g0.s0$' || fail "no share file on $p"
    # the ages as the ring words a plaintext column would hold, and the glucose text ("5.5" as a
    # regular expression matched random ciphertext now and then)
    python3 -c 'import struct, sys
d = open(sys.argv[1], "rb").read()
sys.exit(struct.pack("<5q", 30, 41, 52, 67, 19) in d or b"6.25" in d)' "$D/state-$p/datasets/hosp_a.labs.g0.s0" ||
        fail "a value in the clear on $p"
    [ "$(stat -c %a "$D/state-$p/data.key")" = 600 ] || fail "data key of $p is not mode 600"
done
ok "upload: one encrypted share file per daemon, a data key made on first start (mode 600)"

scripts/cluster down --dir "$D" >/dev/null && scripts/cluster start --dir "$D" >/dev/null || fail "restart"
"$BIN/mpc" datasets --config "$C" > "$D/ls.out" 2> "$D/ls.err" || fail "datasets: $(cat "$D/ls.err")"
grep -q '^hosp_a.labs *a *5 *age:int,glucose:fix ' "$D/ls.out" || fail "datasets listed $(cat "$D/ls.out")"
ok "after a restart of every daemon, mpc datasets lists it alike from every daemon"

check_run() {   # $1: csv for mpcc --eval, $2: what
    "$BIN/mpcc" --eval "$D/stats.mpc" --input labs=@"$1" --input w=3 > "$D/want" 2> "$D/eval.err" ||
        fail "mpcc --eval: $(cat "$D/eval.err")"
    "$BIN/mpc" run "$D/stats.mpc" --config "$D/client-b.ini" --input w=3 > "$D/got" 2> "$D/run.err" ||
        fail "mpc run ($2): $(cat "$D/run.err")"
    cmp -s "$D/got" "$D/want" || fail "($2) mpc run gave $(cat "$D/got"), mpcc --eval $(cat "$D/want")"
    ok "a program reading the dataset matches mpcc --eval on the CSV ($2)"
}
check_run "$D/labs.csv" "N from the dataset's 5 rows"

if "$BIN/mpc" run "$D/other.mpc" --config "$D/client-b.ini" --input w=3 > /dev/null 2> "$D/err"; then
    fail "a program not among the readers read the dataset"
fi
grep -q "may not read dataset 'hosp_a.labs'" "$D/err" || fail "reader refusal: $(cat "$D/err")"
ok "a program not among the dataset's readers is refused"

if "$BIN/mpc" upload "$D/labs.csv" --name hosp_a.labs --schema "$SCHEMA" --party b --config "$D/client-b.ini" \
    2> "$D/err"; then fail "client_b replaced the dataset"; fi
grep -q "client 'client_b' may not write dataset 'hosp_a.labs'" "$D/err" || fail "writer refusal: $(cat "$D/err")"
if "$BIN/mpc" delete hosp_a.labs --config "$D/client-b.ini" 2> "$D/err"; then fail "client_b deleted it"; fi
grep -q "may not delete dataset 'hosp_a.labs'" "$D/err" || fail "delete refusal: $(cat "$D/err")"
if "$BIN/mpc" run "$D/stats.mpc" --config "$D/client-b.ini" --input w=3 --input labs.age=1,2,3,4,5 2> "$D/err"; then
    fail "a client gave a column the dataset gives"
fi
grep -q "read from a stored dataset" "$D/err" || fail "column refusal: $(cat "$D/err")"
ok "a client without the right cannot replace or delete it, nor give its columns itself"

if "$BIN/mpc" upload "$D/labs.csv" --name hosp_a.keyed --schema "pid: key, $SCHEMA" --party a \
    --config "$D/client-a.ini" 2> "$D/err"; then fail "a dataset took a key column"; fi
grep -q "column 'pid': a dataset cannot hold a key column yet" "$D/err" || fail "key column refusal: $(cat "$D/err")"
ok "a dataset schema with a join's key column is refused, naming the column"

"$BIN/mpc" upload "$D/more.csv" --append --name hosp_a.labs --schema "$SCHEMA" --party a --config "$D/client-a.ini" \
    > "$D/up.out" 2> "$D/up.err" || fail "append: $(cat "$D/up.err")"
grep -q "7 rows" "$D/up.out" || fail "append said $(cat "$D/up.out")"
{ cat "$D/labs.csv"; tail -n +2 "$D/more.csv" | awk -F, '{print $3","$1","$2}'; } > "$D/all.csv"
check_run "$D/all.csv" "after an append of 2 rows"

# A shared .circ (it carries its program): the client finds the dataset columns there too.
"$BIN/mpcc" "$D/stats.mpc" -D N=7 -o "$D/stats.circ" 2> "$D/err" || fail "mpcc -o: $(cat "$D/err")"
"$BIN/mpc" run "$D/stats.circ" --config "$D/client-b.ini" --input w=3 > "$D/got" 2> "$D/err" ||
    fail "mpc run stats.circ: $(cat "$D/err")"
cmp -s "$D/got" "$D/want" || fail "stats.circ gave $(cat "$D/got")"
ok "a .circ of the program reads the dataset as its source does"

# The Python binding: the listing, the row-count define, and a job reading the dataset.
pyclient - "$D" <<'PY' > "$D/py.out" 2>&1 || fail "python: $(cat "$D/py.out")"
import sys
from mpcclient import Client, MPCError
d = sys.argv[1]
with Client(d + "/client-b.ini") as c:
    ds = c.datasets()
    assert [(x["name"], x["owner"], x["rows"], x["uploads"]) for x in ds] == [("hosp_a.labs", "a", 7, 2)], ds
    assert ds[0]["columns"] == [("age", "int"), ("glucose", "fix")], ds
    defs = c.dataset_defines(d + "/stats.mpc")
    assert defs == ["N=7"], defs
    try:
        c.upload_dataset("hosp_a.labs", d + "/labs.csv", "age: int, glucose: fix", "b")
        raise SystemExit("client_b replaced the dataset from Python")
    except MPCError as e:
        assert e.name == "DENIED" and "may not write dataset" in e.message, e
    job = c.create_job(d + "/stats.mpc", defines=defs)
    job.input("w", 3)
    print("s =", job.submit(all_inputs=True).output_text("s"))
PY
grep -qx "s = 972" "$D/py.out" || fail "python run gave $(cat "$D/py.out")"
ok "the Python binding lists the dataset, is refused a replace without the right, sets N from it and runs a job reading it"

# A damaged share file is refused, naming it; then a truncated one.  Shares are loaded when the
# job runs: the daemon holding the file fails the job with the file's name as its reason (its
# peers report that it aborted), which `mpc status --job` shows.
refused_naming() {   # $1: what the reason must contain
    if "$BIN/mpc" run "$D/stats.mpc" --config "$D/client-b.ini" --input w=3 > /dev/null 2> "$D/err"; then
        fail "a damaged share file was used"
    fi
    JOB=$(sed -n 's/^mpc: job \([0-9a-f]*\) submitted$/\1/p' "$D/err")
    [ -n "$JOB" ] || fail "no job id in: $(cat "$D/err")"
    "$BIN/mpc" status --job "$JOB" --config "$C" > "$D/st.out" 2>&1
    grep -q "$1" "$D/st.out" || fail "status does not name the file ($1): $(cat "$D/st.out") / $(cat "$D/err")"
}
F="$D/state-b/datasets/hosp_a.labs.g0.s0"
printf '\377' | dd of="$F" bs=1 seek=100 conv=notrunc 2>/dev/null
refused_naming "hosp_a.labs.g0.s0: damaged"
ok "a corrupted share file is refused, naming it"
"$BIN/mpc" upload "$D/labs.csv" --name hosp_a.labs --schema "$SCHEMA" --party a --config "$D/client-a.ini" \
    > /dev/null 2> "$D/up.err" || fail "replace: $(cat "$D/up.err")"
[ -e "$F" ] && fail "the replaced generation's file is still there"
F="$D/state-c/datasets/hosp_a.labs.g1.s0"
truncate -s 100 "$F" || fail "truncate"
refused_naming "hosp_a.labs.g1.s0: truncated"
ok "a replace wipes the old files; a truncated share file is refused, naming it"

"$BIN/mpc" delete hosp_a.labs --config "$D/client-a.ini" > /dev/null 2> "$D/err" || fail "delete: $(cat "$D/err")"
for p in a b c; do
    [ -z "$(ls -A "$D/state-$p/datasets")" ] || fail "files left on $p: $(ls "$D/state-$p/datasets")"
done
"$BIN/mpc" datasets --config "$C" > "$D/ls.out" || fail "datasets after delete"
[ -s "$D/ls.out" ] && fail "still listed: $(cat "$D/ls.out")"
ok "delete leaves no share file on any daemon"
