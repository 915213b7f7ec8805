#!/bin/sh
# examples/fedavg.mpc end to end, on a cluster made by `scripts/cluster up --contributors`
# (docs/contributions.md, "Running one"), as `make demo` runs it: the option gives every party
# the token key and the contributors' client, whose only right is to contribute; party a
# submits the job with the current model, 120 clients contribute their updates (one with
# `mpc contribute`, the others through the Python binding), and the count, the mean update and
# the new model equal `mpcc --eval` on the same files (the count exactly, fix values within the
# truncation's last digits).  Then a 2-party cluster with the dealer and --contributors runs a
# small collection.  Prints `ok …` per check; exits non-zero at the first failure.
set -u
BIN=${MPC_BIN:-$(pwd)/bin}
export MPC_BIN="$BIN"
D=$(mktemp -d /tmp/mpcd-fedavg.XXXXXX)
D2=$D/dealer
cleanup() {
    scripts/cluster down --dir "$D" >/dev/null 2>&1
    [ -f "$D2/parties" ] && scripts/cluster down --dir "$D2" >/dev/null 2>&1
    rm -rf "$D"
}
trap cleanup EXIT

. tests/lib.sh

PROG=examples/fedavg.mpc
DATA=examples/data
N=$(grep -c . $DATA/fedavg_updates.csv)
[ "$N" -ge 50 ] || fail "only $N updates in $DATA/fedavg_updates.csv"
C=$(scripts/cluster up 3 --dir "$D" --contributors) || fail "cluster up --contributors did not start"
for p in a b c; do
    grep -qx "contributor_token_key_file = keys/token.key" "$D/$p.ini" || fail "$p.ini names no token key"
    grep -q "^\[client contributors\]" "$D/$p.ini" || fail "$p.ini has no contributors' client"
done
[ "$(stat -c %a "$D/keys/token.key")" = 600 ] || fail "token key mode $(stat -c %a "$D/keys/token.key")"
CCONF=$D/client-contributors.ini
[ -f "$CCONF" ] || fail "no $CCONF"
ok "--contributors: a token key (0600) on every party, the contributors' client $(basename "$CCONF")"

# The contributors' key may contribute, nothing else.
out=$("$BIN/mpc" submit "$PROG" --config "$CCONF" --input model=@$DATA/fedavg_model.csv 2>&1) &&
    fail "the contributors' client submitted a job: $out"
ok "the contributors' client may not submit ($(echo "$out" | head -c 100))"

JOB=$("$BIN/mpc" submit "$PROG" --config "$C" --max-count "$N" --input model=@$DATA/fedavg_model.csv) ||
    fail "submit"
"$BIN/mpcd" contributor-token make "$D/keys/token.key" "$N" > "$D/tokens" || fail "contributor-token make"
out=$("$BIN/mpc" result "$PROG" --job "$JOB" --config "$CCONF" --timeout 1000 2>&1) &&
    fail "the contributors' client read a result: $out"
ok "nor read an output ($(echo "$out" | head -c 100))"

head -n 1 "$D/tokens" > "$D/token.1"
head -n 1 $DATA/fedavg_updates.csv > "$D/update.1"
"$BIN/mpc" contribute "$PROG" --job "$JOB" --config "$CCONF" --token @"$D/token.1" --input update=@"$D/update.1" \
    2> "$D/contribute.err" || fail "mpc contribute: $(cat "$D/contribute.err")"
T0=$(now_ms)
pyclient - "$CCONF" "$JOB" "$PROG" "$D/tokens" $DATA/fedavg_updates.csv <<'PY' > "$D/py.err" 2>&1 || fail "harness: $(tail -3 "$D/py.err")"
import sys
import threading
import mpcclient

conf, job_id, prog, token_file, update_file = sys.argv[1:]
tokens = open(token_file).read().split()
updates = [line.strip() for line in open(update_file) if line.strip()]
errors = []

def client(t, nt):
    try:
        with mpcclient.Client(conf) as c:
            job = c.attach(job_id, prog)
            for i in range(1 + t, len(updates), nt):
                job.contribute("update", updates[i], tokens[i])
    except Exception as e:   # noqa: BLE001 - reported below
        errors.append(repr(e))

threads = [threading.Thread(target=client, args=(t, 4)) for t in range(4)]
for th in threads:
    th.start()
for th in threads:
    th.join()
if errors:
    sys.exit("; ".join(errors[:3]))
PY
T1=$(now_ms)
ok "$N contributions (1 by mpc contribute, $((N - 1)) by the Python binding in $((T1 - T0)) ms)"

"$BIN/mpc" result "$PROG" --job "$JOB" --config "$C" --timeout 60000 > "$D/mpc.out" 2> "$D/mpc.err" ||
    fail "result: $(cat "$D/mpc.err")"
"$BIN/mpcc" --eval "$PROG" --input model=@$DATA/fedavg_model.csv --input update=@$DATA/fedavg_updates.csv \
    > "$D/eval.out" || fail "mpcc --eval"
head -n 1 "$D/eval.out" | grep -qx "clients = $N" || fail "mpcc --eval counted $(head -n 1 "$D/eval.out")"
head -n 1 "$D/mpc.out" | grep -qx "clients = $N" || fail "the job counted $(head -n 1 "$D/mpc.out")"
# every fix value within 2^-12 of the reference (the division's and the truncations' rounding)
worst=$(paste -d'|' "$D/mpc.out" "$D/eval.out" | awk -F'|' '
    NR > 1 { sub(/^[^=]*= /, "", $1); sub(/^[^=]*= /, "", $2); k = split($1, m, ", "); split($2, r, ", ")
             if (k != 8) bad = 1
             for (e = 1; e <= k; e++) { d = m[e] - r[e]; if (d < 0) d = -d; if (d > w) w = d } }
    END { if (NR != 3 || bad) print "shape"; else printf "%.6f\n", w }')
[ "$worst" != shape ] || fail "outputs: $(cat "$D/mpc.out")"
awk -v w="$worst" 'BEGIN { exit !(w <= 1 / 4096) }' || fail "an output is $worst off the reference"
ok "count exact, mean update and new model within $worst of mpcc --eval"

# --contributors beside the dealer: the parties get the key (the dealer needs none).
C2=$(scripts/cluster up 2 --prep dealer --dir "$D2" --contributors) || fail "dealer cluster did not start"
grep -q contributor_token_key_file "$D2/dealer.ini" && fail "the dealer was given the token key"
printf 'party a, b\ninput g: fix[3] from contributors in -1..1\noutput n = count(g), s = sum(g) to a, b\n' > "$D2/fl.mpc"
JOB=$("$BIN/mpc" submit "$D2/fl.mpc" --config "$C2" --max-count 2) || fail "submit (dealer cluster)"
"$BIN/mpcd" contributor-token make "$D2/keys/token.key" 2 > "$D2/tokens" || fail "contributor-token make (dealer cluster)"
for i in 1 2; do
    sed -n "${i}p" "$D2/tokens" > "$D2/token"
    "$BIN/mpc" contribute "$D2/fl.mpc" --job "$JOB" --config "$D2/client-contributors.ini" --token @"$D2/token" \
        --input g=0.5,-0.25,0.$((i * 25)) 2> "$D2/err" || fail "contribute (dealer cluster): $(cat "$D2/err")"
done
"$BIN/mpc" result "$D2/fl.mpc" --job "$JOB" --config "$C2" --timeout 60000 > "$D2/out" 2> "$D2/err" ||
    fail "result (dealer cluster): $(cat "$D2/err")"
[ "$(tr '\n' ';' < "$D2/out")" = "n = 2;s = 1, -0.5, 0.75;" ] || fail "dealer cluster: $(cat "$D2/out")"
ok "a 2-party cluster with the dealer and --contributors sums a collection: $(tr '\n' ' ' < "$D2/out")"
