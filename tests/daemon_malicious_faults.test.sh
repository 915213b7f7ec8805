#!/bin/sh
# A cheating daemon under `security = malicious`, through real daemons (docs/security.md,
# "Testing a cheating daemon"): party b runs the test-only daemon bin/tests/mpcd-faults
# (protocols/fault.h), the others the release mpcd.  For each fault (kind:site:word:delta, read
# by b at the start of each job from a file named by MPC_TEST_FAULT=@FILE), on programs with a
# MUL, a DOT, a TRUNC, an LTZ, DP noise, and only inputs and outputs, with 2 and 3 parties:
#   caught      the honest parties fail the job with "MAC check failed", the client's `mpc run`
#               exits non-zero saying so and prints no output;
#   refused     b offsetting a word of its report of an output for clients (checked outputs:
#               its 64-bit shares, then its pad shares; protocols/vcheck.h), before it commits
#               to it: the job succeeds on the daemons, the client's vector check fails: `mpc
#               run` exits non-zero with "the daemons' shares are inconsistent (a daemon
#               cheated)" and prints no value;
#   refused at input  b offsetting a word of its report of an input's masks that goes to the
#               client (authenticated client inputs), as for outputs: the client's check
#               refuses the records before it sends anything, `mpc run` exits non-zero with
#               "the daemons' mask shares are inconsistent" and cancels the job; no daemon runs
#               it to the end.
# Engine input K is the program's input K (x = in0, y = in1, w = in2): every input is a
# client's authenticated input.
# The full run also has party a cheat (2 parties): the sequencer.
# Every case also checks that the cheater applied its fault once in that job (its log says so)
# and that no release daemon reacted to MPC_TEST_FAULT.  First: bin/mpcd and the client library hold no
# fault hook, the test daemon does.
# `make test` runs a quick part (MPC_FAULTS_FULL unset); `make faults-mal` the whole matrix.
# Prints `ok …` per check; exits non-zero at the first failure.
set -u
BIN=${MPC_BIN:-$(pwd)/bin}
export MPC_BIN="$BIN"
FAULTY="$BIN/tests/mpcd-faults"
D=$(mktemp -d /tmp/mpcd-malf.XXXXXX)
D3="$D/three"
cleanup() {
    scripts/cluster down --dir "$D/acheat" >/dev/null 2>&1
    scripts/cluster down --dir "$D3" >/dev/null 2>&1
    scripts/cluster down --dir "$D" >/dev/null 2>&1
    rm -rf "$D"
}
trap cleanup EXIT
[ "${MPC_TEST_KEEP:-}" = 1 ] && trap 'scripts/cluster down --dir "$D/acheat" >/dev/null 2>&1; scripts/cluster down --dir "$D3" >/dev/null 2>&1; scripts/cluster down --dir "$D" >/dev/null 2>&1; echo "kept $D"' EXIT
. tests/lib.sh
FAIL_EXTRA="$D3/*.log"
FULL=${MPC_FAULTS_FULL:-}

# --- 0. the release daemon has no fault hook ------------------------------------------------
[ -x "$FAULTY" ] || fail "$FAULTY not built (make tests-build)"
nm "$FAULTY" | grep -q ' T mpc_fault_u128$' || fail "the test daemon has no fault hook: the nm check below would prove nothing"
if nm "$BIN/mpcd" | grep -q 'mpc_fault'; then fail "bin/mpcd holds a fault symbol: $(nm "$BIN/mpcd" | grep mpc_fault)"; fi
for f in "$BIN/../lib/libmpcclient.so" "$BIN/../lib/libmpcinternal.a"; do
    [ -e "$f" ] || fail "$f not built"
    if nm "$f" 2>/dev/null | grep -q 'mpc_fault_u'; then fail "$f holds a fault hook"; fi
done
ok "bin/mpcd and the client libraries hold no fault symbol; bin/tests/mpcd-faults does"

export MPC_TEST_FAULT="@$D/fault"
export MPC_CLUSTER_DAEMON="b=$FAULTY"
: > "$D/fault"
SET="--set mpcd.security=malicious --set limits.peer_timeout_ms=20000"
C2=$(scripts/cluster up 2 --dir "$D" $SET) || fail "2-party cluster did not start"
mkdir -p "$D3"
C3=$(scripts/cluster up 3 --dir "$D3" $SET) || fail "3-party cluster did not start"

# The programs: MUL, DOT, and linear (inputs and outputs only).  Party c's input w enters
# every 3-party program so that every party owns an input.
X=7340033,-1048583,2750159
Y=6291469,40009,-5767177
W=13,-17,19
prog() {  # prog GATE N: writes $D/GATE-N.mpc
    f="$D/$1-$2.mpc"
    if [ "$2" = 2 ]; then echo "party a, b"; else echo "party a, b, c"; fi > "$f"
    echo "input x: int[3] from a" >> "$f"
    echo "input y: int[3] from b" >> "$f"
    plus=""
    if [ "$2" = 3 ]; then echo "input w: int[3] from c" >> "$f"; plus=" + w"; fi
    case $1 in
    mul) echo "output z = x * y$plus to a, b" >> "$f" ;;
    dot) echo "output z = dot(x, y)$plus to a, b" >> "$f" ;;
    lin) echo "output z = x - y$plus to a, b" >> "$f" ;;
    ltz) echo "output z = x$plus < y to a, b" >> "$f" ;;   # layer 0: LTZ alone
    dp) echo "output z = dp_count(x$plus < y, 1.0) to a, b" >> "$f" ;;   # NOISE runs before layer 0's LTZ
    trunc)   # the same inputs as fix: layer 0 is a TRUNC alone (a fix times a fix constant)
        sed -i 's/: int\[3\]/: fix[3]/' "$f"
        echo "output z = (x - y$plus) * 1.5 to a, b" >> "$f" ;;
    esac
}
for n in 2 3; do for g in mul dot lin ltz trunc dp; do prog $g $n; done; done
args() {  # args N: the inputs (x shifted by $2 in its first word)
    x=$X
    [ -n "${2:-}" ] && x=$(python3 -c 'import sys; v = sys.argv[1].split(","); v[0] = str(int(v[0]) + int(sys.argv[2])); print(",".join(v))' "$X" "$2")
    if [ "$1" = 2 ]; then echo "--input x=$x --input y=$Y"; else echo "--input x=$x --input y=$Y --input w=$W"; fi
}

# A case's cluster N: 2 or 3 (b cheats), 2a (2 parties, a cheats: the sequencer, which also
# receives the opened outputs).
case_dir() { case $1 in 2) echo "$D" ;; 3) echo "$D3" ;; 2a) echo "$DA" ;; esac; }
conf() { case $1 in 2) echo "$C2" ;; 3) echo "$C3" ;; 2a) echo "$CA" ;; esac; }
parties() { case $1 in 2) echo "a" ;; 3) echo "a c" ;; 2a) echo "b" ;; esac; }   # the honest ones
cheater() { case $1 in 2a) echo "a" ;; *) echo "b" ;; esac; }
applied() { grep -c "mpcd-faults: fault applied: $2\$" "$(case_dir "$1")/$(cheater "$1").log"; }   # applied N SPEC
fired() {  # fired N SPEC BEFORE: the cheater applied the fault once more than BEFORE, no honest party did
    dir=$(case_dir "$1")
    for i in $(seq 50); do
        c=$(applied "$1" "$2")
        [ "$c" -gt "$3" ] && break
        sleep 0.1
    done
    [ "$c" -eq $(($3 + 1)) ] || fail "$2 ($1 parties): $(cheater "$1") applied the fault $(($c - $3)) times in the job, not once"
    for p in $(parties "$1"); do
        if grep -q "mpcd-faults" "$dir/$p.log"; then fail "release daemon $p reacted to MPC_TEST_FAULT"; fi
    done
}
# caught GATE N SPEC: the honest parties fail the job on the MAC check; the client gets nothing.
caught() {
    g=$1 n=$2 spec=$3 dir=$(case_dir "$2")
    before=$(applied "$n" "$spec")
    echo "$spec" > "$D/fault"
    # shellcheck disable=SC2046
    if "$BIN/mpc" run "$D/$g-${n%a}.mpc" --config "$(conf "$n")" $(args "${n%a}") > "$D/out" 2> "$D/err"; then
        fail "$spec on $g ($n parties): the job succeeded: $(cat "$D/out")"
    fi
    [ -s "$D/out" ] && fail "$spec on $g ($n parties): the client printed output: $(cat "$D/out")"
    grep -q "MAC check failed" "$D/err" || fail "$spec on $g ($n parties): the client said $(cat "$D/err")"
    job=$(sed -n 's/.*job \([0-9a-f]\{32\}\) submitted.*/\1/p' "$D/err" | head -n 1)
    [ -n "$job" ] || fail "$spec on $g ($n parties): no job id in $(cat "$D/err")"
    for p in $(parties "$n"); do
        for i in $(seq 100); do grep -q "job=$job failed: MAC check failed" "$dir/$p.log" && break; sleep 0.1; done
        grep -q "job=$job failed: MAC check failed" "$dir/$p.log" ||
            fail "$spec on $g ($n parties): honest $p did not fail the job on the MAC check"
        if grep "job=$job" "$dir/$p.log" | grep -q "engine (security = malicious)"; then
            fail "$spec on $g ($n parties): honest $p finished the engine"
        fi
    done
    fired "$n" "$spec" "$before"
    : > "$D/fault"
}
# refused GATE N SPEC: the daemons finish the job; the client's check of the output's shares
# fails: `mpc run` exits non-zero saying so and prints nothing.
refused() {
    g=$1 n=$2 spec=$3
    before=$(applied "$n" "$spec")
    echo "$spec" > "$D/fault"
    # shellcheck disable=SC2046
    if "$BIN/mpc" run "$D/$g-${n%a}.mpc" --config "$(conf "$n")" $(args "${n%a}") > "$D/out" 2> "$D/err"; then
        fail "$spec on $g ($n parties): the client accepted: $(cat "$D/out")"
    fi
    [ -s "$D/out" ] && fail "$spec on $g ($n parties): the client printed output: $(cat "$D/out")"
    grep -q "output 'z': the daemons' shares are inconsistent (a daemon cheated): no value released" "$D/err" ||
        fail "$spec on $g ($n parties): the client said $(cat "$D/err")"
    fired "$n" "$spec" "$before"
    : > "$D/fault"
}
# inrefused GATE N SPEC: the client's check of the daemons' records of an input's masks fails:
# `mpc run` exits non-zero saying so, prints nothing, and cancels the job; no honest daemon got
# a masked input of it or finished its engine.
inrefused() {
    g=$1 n=$2 spec=$3 dir=$(case_dir "$2")
    before=$(applied "$n" "$spec")
    echo "$spec" > "$D/fault"
    # shellcheck disable=SC2046
    if "$BIN/mpc" run "$D/$g-${n%a}.mpc" --config "$(conf "$n")" $(args "${n%a}") > "$D/out" 2> "$D/err"; then
        fail "$spec on $g ($n parties): the client gave its input: $(cat "$D/out")"
    fi
    [ -s "$D/out" ] && fail "$spec on $g ($n parties): the client printed output: $(cat "$D/out")"
    grep -q "input '[a-z]*': the daemons' mask shares are inconsistent (one of daemons .* cheated): no input was given" \
        "$D/err" || fail "$spec on $g ($n parties): the client said $(cat "$D/err")"
    job=$(sed -n 's/^mpc: job \([0-9a-f]\{32\}\) cancelled on every daemon$/\1/p' "$D/err" | head -n 1)
    [ -n "$job" ] || fail "$spec on $g ($n parties): the job was not cancelled: $(cat "$D/err")"
    for p in $(parties "$n"); do
        for i in $(seq 100); do grep -q "job=$job .*cancel" "$dir/$p.log" && break; sleep 0.1; done
        grep -q "job=$job .*cancel" "$dir/$p.log" || fail "$spec on $g ($n parties): honest $p did not end the job"
        if grep "job=$job" "$dir/$p.log" | grep -q "masked input .* received\|engine (security = malicious)"; then
            fail "$spec on $g ($n parties): honest $p got a masked input or finished the engine"
        fi
    done
    fired "$n" "$spec" "$before"
    : > "$D/fault"
}

# No fault: the mixed cluster computes correctly.
"$BIN/mpc" run "$D/mul-2.mpc" --config "$C2" $(args 2) > "$D/out" 2> "$D/err" || fail "no fault: $(cat "$D/err")"
"$BIN/mpcc" --eval "$D/mul-2.mpc" $(args 2) > "$D/want" 2>/dev/null
cmp -s "$D/want" "$D/out" || fail "no fault: got $(cat "$D/out")"
for g in ltz trunc; do
    "$BIN/mpc" run "$D/$g-3.mpc" --config "$C3" $(args 3) > "$D/out" 2> "$D/err" || fail "no fault, $g: $(cat "$D/err")"
    "$BIN/mpcc" --eval "$D/$g-3.mpc" $(args 3) > "$D/want" 2>/dev/null
    cmp -s "$D/want" "$D/out" || fail "no fault, $g: got $(cat "$D/out"), want $(cat "$D/want")"
done
ok "with no fault set, a cluster with the test daemon computes what mpcc --eval does (MUL; 3 parties: LTZ, TRUNC)"

if [ -z "$FULL" ]; then
    caught mul 2 open:0:1:1
    caught dot 2 triple:0:2:-5
    caught lin 2 relay:in1:0:1
    caught lin 2 mac:out0:1:1
    refused lin 2 output:out0:0:1000
    inrefused lin 2 cmask:in0:0:1
    caught lin 3 relay:in0:1:1
    caught mul 3 triple-a:0:0:1
    inrefused lin 3 cmask:in1:7:1   # in1 has 3 elements: word 7 is a pad share
    caught trunc 2 tpair:0:1:1
    caught ltz 3 bit:0:70:2
    caught dp 2 rbit:0:5:1
    ok "quick part: caught: a Beaver opening (MUL), a triple's c (DOT), a client's masked input used off, an output opening's MAC (2 parties), a masked input used off, a triple's a (3 parties), a truncation pair's mask (TRUNC, 2 parties), a non-bit entered into a comparison's random bits (LTZ, 3 parties), a share of a DP noise coin (2 parties); refused by the client: b's output share for clients offset (2 parties), b's report of an input's masks for the client offset in a mask share (2 parties) and a pad share (3 parties)"
    exit 0
fi

for n in 2 3; do
    for g in mul dot; do
        for spec in open:0:0:1 open:0:5:-1 triple:0:1:1 triple-a:0:0:1 triple-b:0:2:-3 mac:0:0:1 mac:0:4:1; do
            caught $g $n $spec
        done
        ok "$n parties, $(echo $g | tr a-z A-Z): b's Beaver openings (d and e), its shares of a triple's a, b and c, and the MAC share of an opening: every one caught"
        refused $g $n output:out0:0:77
        ok "$n parties, $(echo $g | tr a-z A-Z): b's report of the output for clients offset: the client refuses it"
    done
    # TRUNC and LTZ layers (layer 0 of trunc-N and ltz-N): the openings (TRUNC: y; LTZ: the
    # masked y = x + r), their MAC shares, the triples of the random bits and of the comparison
    # tree, a non-bit entered into the random bits (before the bits' check), a random bit's
    # share as made (after it), a truncation pair's mask r~
    for g in trunc ltz; do
        for spec in open:0:0:1 open:0:2:-1 mac:0:1:1 triple:0:0:1 triple:0:9:-4 bit:0:0:2 bit:0:40:-2 rbit:0:3:1 rbit:0:70:1; do
            caught $g $n $spec
        done
        [ $g = trunc ] && for spec in tpair:0:0:1 tpair:0:2:-7; do caught $g $n $spec; done
        ok "$n parties, $(echo $g | tr a-z A-Z): b's openings, their MAC shares, the random bits' and the comparison's triples, a non-bit among the random bits, a random bit's share, a truncation pair's mask: every one caught"
    done
    # DP noise (dp_count: its NOISE gate's coins are made before layer 0's comparison)
    for spec in bit:0:0:2 bit:0:7:-2 rbit:0:1:1 rbit:0:9:-3 triple:0:2:1; do caught dp $n $spec; done
    ok "$n parties, NOISE: a non-bit among its coins, a coin's share, the coins' triples: every one caught"
    # inputs (every one a client's, authenticated): x is engine input 0, y input 1
    for spec in mask:in1:0:1 mask:in0:2:1 relay:in1:0:1 relay:in0:2:-9 mac:in1:0:1 mac:in0:1:1; do
        caught lin $n $spec
    done
    ok "$n parties, inputs: b's share of an input's a (as [x] = [a] + δ uses it), the client's δ used off by b, an input's MAC share: every one caught"
    # a report of 3 elements: the mask shares are words 0..2, the 64 pad shares words 3..66
    for spec in cmask:in0:0:1 cmask:in1:2:1 cmask:in0:3:-1 cmask:in1:40:1 cmask:in0:66:1 cmask:in1:1:-9223372036854775808; do
        inrefused lin $n $spec
    done
    ok "$n parties, inputs: b's report of an input's masks for the client offset (a mask share, by 1 and by 2^63, a pad share) before it commits: the client refuses it, gives nothing and cancels"
    for spec in open:out0:0:1 open:out0:2:-1 mask:out0:1:1 mac:out0:0:1; do
        caught lin $n $spec
    done
    ok "$n parties, outputs: b's share of an output opening, of its mask, its MAC share: every one caught"
    # z has 3 elements: words 0..2 of b's report are its shares, 3..66 its pad shares
    refused lin $n output:out0:0:-3
    refused lin $n output:out0:2:1
    refused lin $n output:out0:1:-9223372036854775808
    refused lin $n output:out0:50:1
    ok "$n parties, outputs: b's report of an output for clients offset (shares, words 0 and 2; 2^63 on word 1; a pad share) before it commits: the client refuses it"
done

# Party a cheating (2 parties): the sequencer, and the party the outputs are opened to.
DA="$D/acheat"
mkdir -p "$DA"
CA=$(MPC_CLUSTER_DAEMON="a=$FAULTY" scripts/cluster up 2 --dir "$DA" $SET) || fail "2-party cluster (a cheating) did not start"
FAIL_EXTRA="$D3/*.log $DA/*.log"
for spec in open:0:3:1 triple:0:0:1 mac:0:1:1; do caught mul 2a $spec; caught dot 2a $spec; done
for spec in open:0:1:1 bit:0:5:2 rbit:0:7:1; do caught trunc 2a $spec; caught ltz 2a $spec; done
caught trunc 2a tpair:0:0:1
for spec in mask:in0:0:1 mask:in1:1:1 relay:in0:2:1 mac:in0:0:1 open:out0:1:1 mask:out0:0:1 mac:out0:2:1; do
    caught lin 2a $spec
done
ok "2 parties, a cheating: its Beaver openings, a triple's c, MAC shares (MUL, DOT); its TRUNC and LTZ openings, a non-bit and a random bit's share in their bits, a truncation pair's mask; input masks, a client's δ used off, an input's MAC share; the output opening, its mask and MAC share: every one caught"
inrefused lin 2a cmask:in1:2:1
refused mul 2a output:out0:0:9
ok "2 parties, a cheating: its report of an input's masks for the client offset, its report of an output for clients offset: the client refuses both"
