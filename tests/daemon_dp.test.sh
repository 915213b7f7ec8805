#!/bin/sh
# Differential privacy end to end (circuits/LANGUAGE.md "Differential privacy",
# docs/governance.md "Differential privacy"): examples/dp_histogram.mpc on a 3-party cluster,
# with OT preprocessing and with the dealer.  Every noisy count is within 6 standard
# deviations of the exact count computed here from the CSV files (a bound the binomial noise
# exceeds with probability below 10^-8 per value) and within m/2, the noise's hard bound;
# two runs draw different noise; no daemon log, at debug level, holds an exact count or a
# noisy one (as a number not followed by a unit word: "215 ms" is a timing).  Peer timeouts of
# 20 s and 5 s heartbeats: under make asan the OT material of 21,000 comparisons keeps the
# daemons busy for seconds (with 1 s heartbeats a busy peer was taken for dead).
# Prints `ok …` per check; exits non-zero at the first failure.
set -u
BIN=${MPC_BIN:-$(pwd)/bin}
export MPC_BIN="$BIN"
D=$(mktemp -d /tmp/mpcd-dp.XXXXXX)
DATA=examples/data
PROG=examples/dp_histogram.mpc
cleanup() { scripts/cluster down --dir "$D" >/dev/null 2>&1; rm -rf "$D"; }
trap cleanup EXIT

. tests/lib.sh

"$BIN/mpcc" --stats --json "$PROG" > "$D/stats.json" || fail "mpcc --stats"

for prep in ot dealer; do
    scripts/cluster down --dir "$D" >/dev/null 2>&1
    rm -f "$D"/*.log
    C=$(scripts/cluster up 3 --dir "$D" --prep "$prep" --set mpcd.log_level=debug \
        --set limits.peer_timeout_ms=20000 --set limits.input_timeout_ms=20000 --set limits.heartbeat_ms=5000) ||
        fail "cluster ($prep) did not start"
    for r in 1 2; do
        "$BIN/mpc" run "$PROG" --config "$C" --input age_a=@$DATA/age_a.csv --input age_b=@$DATA/age_b.csv \
            --input age_c=@$DATA/age_c.csv > "$D/run$r.out" 2> "$D/run.err" || fail "$prep: mpc run: $(cat "$D/run.err")"
    done
    scripts/cluster down --dir "$D" >/dev/null 2>&1
    python3 - "$D" "$DATA" <<'PYEOF' || fail "$prep: see above"
import glob, json, math, re, sys
d, data = sys.argv[1], sys.argv[2]
ages = []
for h in "abc":
    ages += [int(v) for v in open(f"{data}/age_{h}.csv").read().replace("\n", ",").split(",") if v]
edges = [0, 18, 40, 65, 80, 100, 120]
exact = {"bands": [sum(1 for x in ages if edges[i] <= x < edges[i + 1] or (i == len(edges) - 2 and x == edges[-1]))
                   for i in range(len(edges) - 1)],
         "patients": [len(ages)]}
dp = {r["output"]: r for r in json.load(open(f"{d}/stats.json"))["dp"]}
runs = []
for r in (1, 2):
    out = {}
    for line in open(f"{d}/run{r}.out").read().splitlines():
        name, vals = line.split(" = ", 1)
        out[name] = [int(v) for v in vals.split(", ")]
    runs.append(out)
    for name, want in exact.items():
        sd, half = dp[name]["noise_sd"], dp[name]["coins"] / 2
        for got, w in zip(out[name], want):
            if abs(got - w) > 6 * sd or abs(got - w) > half:
                sys.exit(f"FAIL: {name}: noisy {got}, exact {w}, beyond 6 sd = {6 * sd:.1f} (or m/2 = {half})")
if runs[0] == runs[1]:
    sys.exit("FAIL: two runs gave the same noisy values")
secret = set()
for out in runs:
    for v in out.values():
        secret.update(v)
for v in exact.values():
    secret.update(v)
secret = {str(v) for v in secret if abs(v) >= 100}   # smaller numbers occur in any log
debug = 0
for log in glob.glob(f"{d}/*.log"):
    debug += open(log, errors="replace").read().count(" DEBUG ")
    for line in open(log, errors="replace"):
        body = line.split(" ", 1)[1] if " " in line else line   # the timestamp's digits aside
        # a number followed by a word is a measurement ("215 ms", "6000 triples"), not a value
        hit = secret.intersection(re.findall(r"(?<![\w.])-?\d+(?![\w.])(?! [a-z])", body))
        if hit:
            sys.exit(f"FAIL: {log} holds {sorted(hit)}: {line.strip()}")
if debug == 0:
    sys.exit("FAIL: the logs have no debug lines: the check would be weak")
PYEOF
    ok "$prep: noisy counts within 6 sd of the exact ones, fresh noise each run, no count in any log"
done
