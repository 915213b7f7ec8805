#!/bin/sh
# A small job is not held up by the daemons' own passes (docs/daemon.md, "Waking the worker"):
#  1. nine small jobs (examples/secure_sum.mpc) one after the other on a 3-party cluster: the
#     time from a job's last input at any daemon to its start at the last daemon, read from
#     the daemons' logs, has a median under 40 ms.  Until 2026-12-03 it was about 100 ms by
#     construction: a party looked for ready jobs only between 100 ms waits for the
#     sequencer's RUNs, the sequencer for their reports only between 50 ms waits;
#  2. the idle daemons use under 10 % of a core (the worker's waits in the transport, woken by
#     jobs and messages, must not turn into a busy loop).
# Prints `ok …` per check; exits non-zero at the first failure.
set -u
BIN=${MPC_BIN:-$(pwd)/bin}
export MPC_BIN="$BIN"
D=$(mktemp -d /tmp/mpcd-latency.XXXXXX)
cleanup() { scripts/cluster down --dir "$D" >/dev/null 2>&1; rm -rf "$D"; }
trap cleanup EXIT
. tests/lib.sh

C=$(scripts/cluster up 3 --prep dealer --dir "$D") || fail "cluster did not start"

# --- 1. from the last input to the run ----------------------------------------------------------
i=0
while [ $i -lt 9 ]; do
    "$BIN/mpc" run examples/secure_sum.mpc --config "$C" --input x=$i --input y=2 --input z=3 > "$D/out" 2> "$D/err" ||
        fail "job $i: $(cat "$D/err")"
    grep -qx "total = $((i + 5))" "$D/out" || fail "job $i's answer: $(cat "$D/out")"
    sed -n 's/^mpc: job \([0-9a-f]\{32\}\) submitted$/\1/p' "$D/err" >> "$D/ids"
    i=$((i + 1))
done
python3 - "$D" <<'P' > "$D/gaps" || fail "the gaps: $(cat "$D/gaps")"
import datetime, re, statistics, sys
d = sys.argv[1]
ids = open(f"{d}/ids").read().split()
line = re.compile(r"^(\S+)Z \S+\s+party=\S+ job=([0-9a-f]{32}) (.*)$")
last_in, run = {}, {}
for p in "abc":
    for l in open(f"{d}/{p}.log"):
        m = line.match(l.strip())
        if not m or m.group(2) not in ids:
            continue
        t = datetime.datetime.fromisoformat(m.group(1)).timestamp()
        job, msg = m.group(2), m.group(3)
        if msg.startswith("input '"):
            last_in[job] = max(last_in.get(job, 0), t)
        elif msg.startswith("running:"):
            run[job] = max(run.get(job, 0), t)
gaps = [(run[j] - last_in[j]) * 1000 for j in ids if j in run and j in last_in]
if len(gaps) != len(ids):
    sys.exit(f"{len(gaps)} of {len(ids)} jobs have both lines in the logs")
print(f"{statistics.median(gaps):.0f} " + " ".join(f"{g:.0f}" for g in gaps))
P
read -r med rest < "$D/gaps"
[ "$med" -lt 40 ] || fail "from the last input to the run: median $med ms (each: $rest)"
ok "from a small job's last input to its run: median $med ms (each: $rest ms)"

# --- 2. idle --------------------------------------------------------------------------------------
ticks() { awk '{print $14 + $15}' "/proc/$(cat "$D/$1.pid")/stat"; }
hz=$(getconf CLK_TCK)
t0a=$(ticks a); t0b=$(ticks b); t0c=$(ticks c)
sleep 5
for p in a b c; do
    eval "t0=\$t0$p"
    used=$(( $(ticks $p) - t0 ))
    [ $((used * 100)) -lt $((hz * 5 * 10)) ] || fail "idle daemon $p used $used ticks of $hz/s in 5 s"
done
ok "idle daemons use under 10 % of a core"
