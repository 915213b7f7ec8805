#!/bin/sh
# Jobs run concurrently in each daemon (docs/daemon.md, "Processes and threads"): a 3-party
# cluster (scripts/cluster, ipc:// sockets in its directory) with max_running_jobs = 2.
#   1. A long job (3,000 dependent rounds, bound to a and b) and, submitted after it, a short
#      job on the same daemons: the short one completes while the long one still runs (the
#      long job's client has not returned when the short one's has).
#   2. Four client processes at once, five jobs each, of different programs from examples/
#      with different bindings (`mpc run --bind`, overlapping in different orders); every
#      result equals `mpcc --eval` on the same inputs.  Meanwhile `mpc status` is sampled:
#      no daemon ever reports more than max_running_jobs jobs running.
#   3. A daemon not bound to a job (c, for a job of a and b sequenced by a) drops its copy
#      once the job ran: its status is done, not queued.
# Prints `ok …` per check; exits non-zero at the first failure.
set -u
BIN=${MPC_BIN:-$(pwd)/bin}
export MPC_BIN="$BIN"
D=$(mktemp -d /tmp/mpcd-conc.XXXXXX)
DATA=examples/data
cleanup() {
    [ -n "${SAMPLER:-}" ] && kill "$SAMPLER" 2>/dev/null
    scripts/cluster down --dir "$D" >/dev/null 2>&1
    rm -rf "$D"
}
trap cleanup EXIT

. tests/lib.sh

K=2
C=$(scripts/cluster up 3 --dir "$D" --set limits.peer_timeout_ms=5000 --set limits.input_timeout_ms=20000 \
    --set limits.max_running_jobs=$K) ||
    fail "cluster did not start"

# ---- 1. a short job is not held up by a long one ----------------------------------------
# The long job: 10,000 dependent multiplications (10,000 rounds, few triples: its length is
# latency, not preprocessing, so the test stays quick on a loaded machine).  3,000 rounds were
# too few in a fresh-chroot make test beside another make test: the whole long job took 2.9 s
# and ended before the short one.
R=10000
cat > "$D/long.mpc" <<EOF
party a, b
input x: int[4] from a
input y: int[4] from b
var p = x
for i in 0..$R {
  p = p * y + x
}
output s = sum(p) to a, b
EOF
t0=$(now_ms)
"$BIN/mpc" run "$D/long.mpc" --config "$C" --input x=1,2,3,4 --input y=1,1,1,1 \
    > "$D/long.out" 2> "$D/long.err" &
LONG=$!
# wait until the long job is running on a (its "running:" line), then submit the short one
i=0
until grep -q "running:" "$D/a.log"; do
    i=$((i + 1)); [ $i -lt 1500 ] || fail "the long job never started on a"; sleep 0.02
done
t1=$(now_ms)
"$BIN/mpc" run examples/poly.mpc --config "$C" --input x=-7 --input y=11 > "$D/short.out" 2> "$D/short.err" ||
    fail "the short job: $(cat "$D/short.err")"
t2=$(now_ms)
"$BIN/mpcc" --eval examples/poly.mpc --input x=-7 --input y=11 > "$D/eval.out"
cmp -s "$D/short.out" "$D/eval.out" || fail "short job: mpc $(cat "$D/short.out") vs eval $(cat "$D/eval.out")"
kill -0 "$LONG" 2>/dev/null || fail "the long job ended before the short one did (it took $((t2 - t0)) ms): \
make it longer; $(cat "$D/long.err")"
ok "a short job completed in $((t2 - t1)) ms while a $R-round job was still running"
wait "$LONG" || fail "the long job: $(cat "$D/long.err")"
t3=$(now_ms)
# y = 1: p = x * (R + 1), sum = 10 * (R + 1)
grep -qx "s = $((10 * (R + 1)))" "$D/long.out" || fail "long job result: $(cat "$D/long.out")"
ok "the long job completed too ($((t3 - t0)) ms) with the right result"

# ---- 2. four clients x five jobs, overlapping bindings --------------------------------------
# job NAME PROGRAM [mpc arguments...]: runs one job, compares with mpcc --eval
cat > "$D/job.sh" <<'EOF'
#!/bin/sh
# job.sh OUTDIR NAME PROGRAM ARGS... (the --bind argument is dropped for mpcc --eval)
out=$1 name=$2; shift 2
"$MPC_BIN/mpc" run "$@" --config "$CONF" > "$out/$name.mpc" 2> "$out/$name.err" || { echo "$name: mpc run failed: $(cat "$out/$name.err")"; exit 1; }
prog=$1; shift
args=""
skip=0
for a in "$@"; do
    if [ $skip = 1 ]; then skip=0; continue; fi
    [ "$a" = "--bind" ] && { skip=1; continue; }
    args="$args $a"
done
# shellcheck disable=SC2086
"$MPC_BIN/mpcc" --eval "$prog" $args > "$out/$name.eval" || { echo "$name: mpcc --eval failed"; exit 1; }
python3 - "$out/$name.mpc" "$out/$name.eval" <<'PY' || { echo "$name: differs: $(cat "$out/$name.mpc") vs $(cat "$out/$name.eval")"; exit 1; }
import sys
a = [l.split(" = ", 1) for l in open(sys.argv[1]).read().splitlines()]
b = [l.split(" = ", 1) for l in open(sys.argv[2]).read().splitlines()]
if [x[0] for x in a] != [x[0] for x in b]:
    sys.exit(1)
for (n, va), (_, vb) in zip(a, b):
    xs, ys = va.split(", "), vb.split(", ")
    if len(xs) != len(ys) or any(abs(float(x) - float(y)) > 0.01 for x, y in zip(xs, ys)):
        sys.exit(1)
PY
EOF
chmod +x "$D/job.sh"
export CONF="$C"
client() {  # client NUMBER: five jobs one after the other, bindings depending on the client
    n=$1
    case $n in
        1) b1="a=a,b=b" b2="a=b,b=c" ;;
        2) b1="a=b,b=a" b2="a=c,b=a" ;;
        3) b1="a=c,b=b" b2="a=a,b=c" ;;
        *) b1="a=b,b=c" b2="a=c,b=b" ;;
    esac
    "$D/job.sh" "$D" "c$n-1" examples/poly.mpc --bind "$b1" --input x=$((n * 3)) --input y=-$n || return 1
    "$D/job.sh" "$D" "c$n-2" examples/secure_sum.mpc --input x=$n --input y=$((n * 10)) --input z=$((n * 100)) || return 1
    b3=$(echo "$b2" | sed 's/^a=/patient=/; s/,b=/,provider=/')
    "$D/job.sh" "$D" "c$n-3" examples/risk_linear.mpc --bind "$b3" --input x=@$DATA/patient_x4.csv \
        --input w=@$DATA/provider_w4.csv --input bias=-0.$n || return 1
    "$D/job.sh" "$D" "c$n-4" examples/joint_stats.mpc --input xa=@$DATA/ldl_a.csv --input xb=@$DATA/ldl_b.csv \
        --input xc=@$DATA/ldl_c.csv || return 1
    "$D/job.sh" "$D" "c$n-5" examples/poly.mpc --bind "$b2" --input x=$n --input y=$((n * n)) || return 1
}
# sample every daemon's running count while the clients run
(
    while :; do
        "$BIN/mpc" status --config "$C" 2>/dev/null | sed -n 's/^\([a-c]\): reachable, jobs [0-9]* queued, \([0-9]*\) running.*/\1 \2/p'
        sleep 0.05
    done
) > "$D/running" &
SAMPLER=$!
t0=$(now_ms)
pids=""
for n in 1 2 3 4; do
    client $n > "$D/client$n.log" 2>&1 &
    pids="$pids $!"
done
failed=0
for p in $pids; do wait "$p" || failed=1; done
t1=$(now_ms)
kill "$SAMPLER" 2>/dev/null
wait "$SAMPLER" 2>/dev/null
SAMPLER=
[ $failed = 0 ] || fail "concurrent jobs: $(cat "$D"/client*.log)"
ok "4 clients x 5 jobs at once (bindings overlapping in different orders) all match mpcc --eval ($((t1 - t0)) ms)"
[ -s "$D/running" ] || fail "no status sample taken"
max=$(awk '$2 > m { m = $2 } END { print m + 0 }' "$D/running")
[ "$max" -le $K ] || fail "a daemon reported $max jobs running, more than max_running_jobs = $K: $(sort -u "$D/running" | tr '\n' ' ')"
ok "no daemon ran more than max_running_jobs = $K jobs at once (most seen: $max, $(wc -l < "$D/running") samples)"

# ---- 3. a daemon not bound to a job drops its copy once the job ran --------------------------
JOB=$("$BIN/mpc" submit examples/poly.mpc --config "$C") || fail "submit"
"$BIN/mpc" input examples/poly.mpc --job "$JOB" --config "$C" --input x=2 --input y=3 || fail "inputs"
"$BIN/mpc" result examples/poly.mpc --job "$JOB" --config "$C" > /dev/null || fail "result"
i=0
until "$BIN/mpc" status --job "$JOB" --config "$C" 2>/dev/null | grep "^c" | grep -q "done"; do
    i=$((i + 1))
    [ $i -lt 100 ] || fail "c (not bound to the job) still holds it: $("$BIN/mpc" status --job "$JOB" --config "$C" 2>&1)"
    sleep 0.05
done
ok "the daemon not bound to a job marks its copy done once the sequencer ordered it"
