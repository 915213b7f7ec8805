#!/bin/sh
# The metrics endpoint with real daemons (scripts/cluster, ipc:// mesh; each daemon's HTTP
# endpoint on 127.0.0.1 port 0, the port it picked read from its log):
#  1. every daemon answers /healthz 200 "ok" once the mesh is up, 404 for another path, 405 for
#     POST; a bad metrics_endpoint is refused at start; a stalled scraper holds up no one and is
#     closed after the idle timeout;
#  2. /metrics is valid Prometheus text (checked below: HELP and TYPE for every family, label
#     syntax, counters end in _total, histogram buckets cumulative, no duplicate series);
#  3. during jobs: a job submitted without its inputs shows in mpcd_jobs{state=...}; cancelled,
#     it counts as cancelled;
#  4. after 3 jobs: mpcd_jobs_total{outcome="done"} rose by exactly 3 on every daemon, the
#     histogram's count matches the jobs ended, rounds, triples used, per-peer bytes and messages
#     rose, submits counted; a client with an unknown key counts as a refused handshake;
#  5. b frozen (SIGSTOP): a and c answer /healthz 503 naming b, mpcd_peer_up{peer="b"} 0;
#     after SIGCONT 200 again; b stopped: 503 naming b.
# Prints `ok …` per check; exits non-zero at the first failure.
set -u
BIN=${MPC_BIN:-$(pwd)/bin}
export MPC_BIN="$BIN"
D=$(mktemp -d /tmp/mpcd-metrics.XXXXXX)
cleanup() {
    for p in a b c; do [ -f "$D/$p.pid" ] && kill -CONT "$(cat "$D/$p.pid")" 2>/dev/null; done
    scripts/cluster down --dir "$D" >/dev/null 2>&1; rm -rf "$D"
}
trap cleanup EXIT
. tests/lib.sh

C=$(scripts/cluster up 3 --dir "$D" --set mpcd.metrics_endpoint=127.0.0.1:0 --set mpcd.pool_triples=4096 \
    --set mpcd.pool_chunk=2048 --set limits.heartbeat_ms=200 --set limits.peer_timeout_ms=2000 \
    --set limits.input_timeout_ms=30000) || fail "cluster did not start"
sed -i 's/^timeout_ms = .*/timeout_ms = 3000/' "$C"

port() { sed -n 's/.*metrics endpoint 127\.0\.0\.1:0 listening on port \([0-9]*\):.*/\1/p' "$D/$1.log" | tail -n 1; }
for p in a b c; do
    eval "P_$p=\$(port $p)"
    eval "[ -n \"\$P_$p\" ]" || fail "$p logged no metrics port"
done
url() { eval "echo http://127.0.0.1:\$P_$1$2"; }
# get PARTY PATH OUT: the body in OUT, the status code on stdout
get() { curl -s --max-time 5 -o "$3" -w '%{http_code}' "$(url "$1" "$2")"; }

# The Prometheus text format checker: validates FILE, then prints one "series value" line per
# sample, labels sorted, so the shell can look values up with `val`.
cat > "$D/prom.py" <<'EOF'
import re, sys
NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\["\\n])*"'
SAMPLE = re.compile(rf"^({NAME})(?:\{{((?:{LABEL})(?:,{LABEL})*)?\}})? (\S+)$")
help_, type_, seen, out, order = {}, {}, set(), [], []
def die(n, msg):
    sys.exit(f"line {n}: {msg}")
lines = open(sys.argv[1]).read().split("\n")
if lines[-1] != "": die(len(lines), "the text does not end with a newline")
for n, line in enumerate(lines[:-1], 1):
    if line.startswith("# HELP "):
        parts = line.split(" ", 3)
        if len(parts) < 4 or not re.fullmatch(NAME, parts[2]): die(n, f"bad HELP: {line!r}")
        if parts[2] in help_: die(n, f"second HELP for {parts[2]}")
        help_[parts[2]] = parts[3]
        continue
    if line.startswith("# TYPE "):
        parts = line.split(" ")
        if len(parts) != 4 or parts[3] not in ("counter", "gauge", "histogram", "summary", "untyped"):
            die(n, f"bad TYPE: {line!r}")
        if parts[2] in type_: die(n, f"second TYPE for {parts[2]}")
        if parts[2] in order: die(n, f"TYPE for {parts[2]} after its samples")
        type_[parts[2]] = parts[3]
        continue
    if line.startswith("#") or not line: die(n, f"unexpected line {line!r}")
    m = SAMPLE.match(line)
    if not m: die(n, f"not a valid sample: {line!r}")
    name, labels, value = m.group(1), m.group(2) or "", m.group(3)
    fam = name
    for suf in ("_bucket", "_sum", "_count"):
        if name.endswith(suf) and type_.get(name[: -len(suf)]) == "histogram": fam = name[: -len(suf)]
    if fam not in type_ or fam not in help_: die(n, f"{name}: no HELP and TYPE before it")
    if not fam.startswith("mpcd_"): die(n, f"{fam}: not prefixed mpcd_")
    if type_[fam] == "counter" and not fam.endswith("_total"): die(n, f"counter {fam} does not end in _total")
    if type_[fam] != "counter" and fam.endswith("_total"): die(n, f"{type_[fam]} {fam} ends in _total")
    if order and order[-1] != fam and fam in order: die(n, f"{fam}: its samples are not together")
    if not order or order[-1] != fam: order.append(fam)
    try: v = float(value)
    except ValueError: die(n, f"value {value!r} is not a number")
    if type_[fam] == "counter" and v < 0: die(n, f"negative counter {name}")
    pairs = sorted(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', labels))
    if len({k for k, _ in pairs}) != len(pairs): die(n, f"repeated label in {line!r}")
    series = name + "{" + ",".join(f'{k}="{x}"' for k, x in pairs) + "}"
    if series in seen: die(n, f"duplicate series {series}")
    seen.add(series)
    out.append((series, v, fam, dict(pairs)))
for fam, t in type_.items():
    if t != "histogram": continue
    buckets = [(s[3]["le"], s[1]) for s in out if s[2] == fam and s[0].startswith(fam + "_bucket")]
    if not buckets or buckets[-1][0] != "+Inf": sys.exit(f"{fam}: no +Inf bucket last")
    if any(b[1] > c[1] for b, c in zip(buckets, buckets[1:])): sys.exit(f"{fam}: buckets not cumulative")
    les = [float(b[0]) for b in buckets]
    if les != sorted(les): sys.exit(f"{fam}: bucket bounds not increasing")
    count = [s[1] for s in out if s[0] == fam + "_count{}"]
    if count != [buckets[-1][1]]: sys.exit(f"{fam}: _count is not the +Inf bucket")
for s in out: print(s[0], "%.17g" % s[1])
EOF
# scrape PARTY NAME: /metrics of PARTY checked and flattened into $D/NAME
scrape() {
    code=$(get "$1" /metrics "$D/$2.raw") || fail "curl $1 /metrics"
    [ "$code" = 200 ] || fail "$1 /metrics answered $code"
    python3 "$D/prom.py" "$D/$2.raw" > "$D/$2" 2> "$D/$2.err" ||
        fail "$1 /metrics is not valid Prometheus text: $(cat "$D/$2.err")"
}
# val NAME SERIES: the value of SERIES (e.g. 'mpcd_jobs_total{outcome="done"}') in scrape NAME
val() {
    v=$(awk -v s="$2" '$1 == s { print $2 }' "$D/$1")
    [ -n "$v" ] || fail "no series $2 in scrape $1: $(head -c 3000 "$D/$1")"
    echo "$v"
}
# delta NAME1 NAME2 SERIES: how much SERIES rose between two scrapes (integer)
delta() {
    val "$1" "$3" > /dev/null; val "$2" "$3" > /dev/null   # both present
    awk -v s="$3" 'FNR == NR && $1 == s { a = $2 } FNR != NR && $1 == s { b = $2 } END { printf "%d\n", b - a }' \
        "$D/$1" "$D/$2"
}
# sum NAME PREFIX: the sum of every series of scrape NAME starting with PREFIX (integer)
sum() { awk -v p="$2" 'index($1, p) == 1 { t += $2 } END { printf "%d\n", t }' "$D/$1"; }

# --- 1. health, paths, methods, a bad address ------------------------------------------------------
for p in a b c; do
    i=0
    until [ "$(get $p /healthz "$D/h")" = 200 ]; do
        i=$((i + 1)); [ $i -lt 50 ] || fail "$p /healthz: $(cat "$D/h")"; sleep 0.1
    done
    [ "$(cat "$D/h")" = ok ] || fail "$p /healthz body: $(cat "$D/h")"
done
ok "every daemon answers /healthz 200 ok with all peers up"
[ "$(get a /nothing "$D/h")" = 404 ] || fail "GET /nothing is not 404"
code=$(curl -s --max-time 5 -o "$D/h" -w '%{http_code}' -X POST --data x=1 "$(url a /metrics)")
[ "$code" = 405 ] || fail "POST /metrics answered $code"
ok "404 for another path, 405 for POST"
sed 's/^metrics_endpoint = .*/metrics_endpoint = localhost:9464/' "$D/a.ini" > "$D/bad.ini"
if "$BIN/mpcd" --config "$D/bad.ini" > "$D/bad.out" 2>&1; then fail "mpcd started with metrics_endpoint localhost:9464"; fi
grep -q "metrics_endpoint" "$D/bad.out" || fail "the refusal does not name the key: $(cat "$D/bad.out")"
ok "a metrics_endpoint that is not a numeric HOST:PORT is refused at start"

# A stalled scraper: one connection that sent half a request, one that sent nothing.  The
# endpoint keeps answering others at once, and closes both after its idle timeout (5 s).
python3 - "$P_a" "$D/slow.ready" > "$D/slow.out" 2>&1 <<'EOF' &
import socket, sys, time
s1 = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s1.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
s2 = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
t0 = time.time()
open(sys.argv[2], "w").close()
s1.settimeout(20)
s2.settimeout(20)
r1 = s1.recv(100)
r2 = s2.recv(100)
print("closed", len(r1), len(r2), int(time.time() - t0))
EOF
SLOW=$!
i=0
until [ -e "$D/slow.ready" ]; do
    i=$((i + 1)); [ $i -lt 100 ] || fail "the stalled scraper did not connect: $(cat "$D/slow.out")"; sleep 0.1
done
t0=$(date +%s%3N)
[ "$(get a /metrics "$D/h")" = 200 ] || fail "/metrics with a stalled scraper connected"
[ "$(get a /healthz "$D/h")" = 200 ] || fail "/healthz with a stalled scraper connected"
el=$(($(date +%s%3N) - t0))
[ $el -lt 3000 ] || fail "/metrics and /healthz took $el ms with a stalled scraper connected"
wait $SLOW || fail "the stalled scraper: $(cat "$D/slow.out")"
read -r word n1 n2 secs < "$D/slow.out"
[ "$word $n1 $n2" = "closed 0 0" ] && [ "$secs" -le 12 ] ||
    fail "the stalled connections were not closed by the idle timeout: $(cat "$D/slow.out")"
ok "a stalled scraper does not hold up others ($el ms for two requests) and is closed after ${secs} s"

# --- 2./3. valid text; a job in the table, then cancelled ---------------------------------------------
cat > "$D/mul.mpc" <<'EOF'
party a, b, c
input x: int from a
input y: int from b
input z: int from c
output p = x * y * z + x * y to a, b, c
output s = x + y + z to a, b, c
EOF
for p in a b c; do scrape $p before_$p; done
ok "/metrics of every daemon is valid Prometheus text format"
JOB=$("$BIN/mpc" submit "$D/mul.mpc" --config "$C" 2> "$D/err") || fail "mpc submit: $(cat "$D/err")"
i=0
while :; do
    scrape a during
    n=$(($(sum during 'mpcd_jobs{state="queued"}') + $(sum during 'mpcd_jobs{state="waiting"}')))
    [ "$n" -ge 1 ] && break
    i=$((i + 1)); [ $i -lt 50 ] || fail "the job waiting for inputs is not in mpcd_jobs: $(grep mpcd_jobs "$D/during")"
    sleep 0.1
done
ok "a job waiting for its inputs shows in mpcd_jobs{state=queued|waiting}"
"$BIN/mpc" cancel "$JOB" --config "$C" > "$D/out" 2>&1 || fail "mpc cancel: $(cat "$D/out")"
i=0
until scrape a during2 && [ "$(delta before_a during2 'mpcd_jobs_total{outcome="cancelled"}')" = 1 ]; do
    i=$((i + 1)); [ $i -lt 50 ] || fail "the cancelled job is not counted: $(grep jobs_total "$D/during2")"; sleep 0.1
done
ok "the cancelled job counts in mpcd_jobs_total{outcome=\"cancelled\"}"

# --- 4. three jobs ------------------------------------------------------------------------------------
for p in a b c; do scrape $p mid_$p; done
for k in 1 2 3; do
    "$BIN/mpc" run "$D/mul.mpc" --config "$C" --input x=$k --input y=5 --input z=7 > "$D/out" 2> "$D/err" ||
        fail "job $k: $(cat "$D/err")"
    grep -qx "p = $((k * 35 + k * 5))" "$D/out" || fail "job $k answered $(cat "$D/out")"
done
for p in a b c; do
    i=0
    until scrape $p after_$p && [ "$(delta mid_$p after_$p 'mpcd_jobs_total{outcome="done"}')" -ge 3 ]; do
        i=$((i + 1)); [ $i -lt 50 ] || fail "$p: done jobs did not reach 3"; sleep 0.1
    done
    for o in done failed cancelled; do
        want=0; [ $o = done ] && want=3
        [ "$(delta mid_$p after_$p "mpcd_jobs_total{outcome=\"$o\"}")" = $want ] ||
            fail "$p: mpcd_jobs_total{outcome=\"$o\"} rose by $(delta mid_$p after_$p "mpcd_jobs_total{outcome=\"$o\"}"), not $want"
    done
    ended=$(sum after_$p 'mpcd_jobs_total{')
    [ "$(sum after_$p 'mpcd_job_duration_seconds_count{}')" = "$ended" ] ||
        fail "$p: the duration histogram counts $(val after_$p 'mpcd_job_duration_seconds_count{}'), jobs ended $ended"
    [ "$(delta mid_$p after_$p 'mpcd_jobs{state="done"}')" = 3 ] || fail "$p: mpcd_jobs{state=done} did not rise by 3"
    [ "$(delta mid_$p after_$p 'mpcd_rounds_total{}')" -ge 3 ] || fail "$p: rounds did not rise"
    [ "$(delta mid_$p after_$p 'mpcd_triples_used_total{}')" -ge 6 ] || fail "$p: triples used did not rise by 6"
    [ "$(delta mid_$p after_$p 'mpcd_client_requests_total{result="ok",type="submit"}')" = 3 ] ||
        fail "$p: 3 submits not counted"
    [ "$(delta mid_$p after_$p 'mpcd_client_requests_total{result="ok",type="input"}')" -ge 3 ] ||
        fail "$p: inputs not counted"
    for q in a b c; do
        [ $q = $p ] && continue
        for m in peer_bytes_sent_total peer_bytes_received_total peer_messages_sent_total peer_messages_received_total; do
            [ "$(delta mid_$p after_$p "mpcd_$m{peer=\"$q\"}")" -gt 0 ] || fail "$p: mpcd_$m{peer=\"$q\"} did not rise"
        done
        [ "$(val after_$p "mpcd_peer_up{peer=\"$q\"}")" = 1 ] || fail "$p: mpcd_peer_up{peer=\"$q\"} is not 1"
    done
    [ "$(sum after_$p 'mpcd_triples_made_total{source="pool"}')" -gt 0 ] || fail "$p: the pool made nothing"
done
ok "after 3 jobs every daemon counts exactly 3 more done, rounds, triples, traffic to each peer, requests"

mkdir -p "$D/stranger"
"$BIN/mpcd" keygen stranger --dir "$D/stranger" > /dev/null || fail "mpcd keygen"
sed -e "s|^public_key_file = .*|public_key_file = $D/stranger/stranger.pub|" \
    -e "s|^secret_key_file = .*|secret_key_file = $D/stranger/stranger.secret|" \
    -e 's/^timeout_ms = .*/timeout_ms = 500/' "$C" > "$D/stranger.ini"
"$BIN/mpc" status --config "$D/stranger.ini" > "$D/out" 2>&1 && fail "a client with an unknown key was answered"
i=0
until scrape a refused && [ "$(delta after_a refused 'mpcd_refused_handshakes_total{endpoint="client",reason="unknown_key"}')" -ge 1 ]; do
    i=$((i + 1)); [ $i -lt 50 ] || fail "the unknown client key is not counted: $(grep refused "$D/refused")"; sleep 0.1
done
ok "a client with an unknown key counts in mpcd_refused_handshakes_total{endpoint=\"client\",reason=\"unknown_key\"}"

# --- 5. health with b frozen, then stopped -------------------------------------------------------------
BPID=$(cat "$D/b.pid")
kill -STOP "$BPID"
for p in a c; do
    i=0
    until [ "$(get $p /healthz "$D/h")" = 503 ]; do
        i=$((i + 1)); [ $i -lt 100 ] || fail "$p /healthz with b frozen: $(cat "$D/h")"; sleep 0.1
    done
    grep -q "^peer b unreachable since " "$D/h" || fail "$p /healthz does not name b: $(cat "$D/h")"
    [ "$(wc -l < "$D/h")" = 1 ] || fail "$p /healthz is not one line: $(cat "$D/h")"
done
scrape a frozen
[ "$(val frozen 'mpcd_peer_up{peer="b"}')" = 0 ] || fail "a: mpcd_peer_up{peer=\"b\"} is not 0 with b frozen"
[ "$(val frozen 'mpcd_peer_up{peer="c"}')" = 1 ] || fail "a: mpcd_peer_up{peer=\"c\"} is not 1 with b frozen"
ok "b frozen: a and c answer /healthz 503 naming b ($(cat "$D/h")); mpcd_peer_up{peer=\"b\"} 0"
kill -CONT "$BPID"
for p in a b c; do
    i=0
    until [ "$(get $p /healthz "$D/h")" = 200 ]; do
        i=$((i + 1)); [ $i -lt 100 ] || fail "$p /healthz after SIGCONT: $(cat "$D/h")"; sleep 0.1
    done
done
ok "after SIGCONT every daemon answers /healthz 200 again"
scripts/cluster stop b --dir "$D" > /dev/null 2>&1 || fail "cluster stop b"
i=0
until [ "$(get a /healthz "$D/h")" = 503 ]; do
    i=$((i + 1)); [ $i -lt 100 ] || fail "a /healthz with b stopped: $(cat "$D/h")"; sleep 0.1
done
grep -q "^peer b unreachable since " "$D/h" || fail "a /healthz does not name b: $(cat "$D/h")"
ok "b stopped: a answers /healthz 503 naming b"
