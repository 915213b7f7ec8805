#!/bin/sh
# Approval by program, with real daemons (scripts/cluster, ipc:// endpoints; docs/daemon.md,
# "Approving a program"): every daemon's [policy] is the line `mpcc --approve` prints for
# examples/joint_stats.mpc with N=1..10000000;
#  1. the program runs at N = 1000 and at N = 100000 (compiled by `mpc run` at each), both
#     answers checked against `mpcc --eval`, with and without pushdown;
#  2. it is refused at N = 10000001 and with the parties swapped by --bind, the messages
#     naming the param and the binding;
#  3. a program not approved is refused; an allow line for it added by a reload (SIGHUP)
#     admits it without a restart.
# Prints `ok …` per check; exits non-zero at the first failure.
set -u
BIN=${MPC_BIN:-$(pwd)/bin}
export MPC_BIN="$BIN"
MPC="$BIN/mpc"
D=$(mktemp -d /tmp/mpcd-approve.XXXXXX)
cleanup() { scripts/cluster down --dir "$D" >/dev/null 2>&1; rm -rf "$D"; }
trap cleanup EXIT
. tests/lib.sh

# Generous timeouts: under the sanitizers (make asan) a party making its OT material for a job
# can leave a peer waiting more than 2 s for the next message.
C=$(scripts/cluster up 3 --dir "$D" --set limits.peer_timeout_ms=20000 --set limits.input_timeout_ms=20000) ||
    fail "cluster did not start"

LINE=$("$BIN/mpcc" --approve examples/joint_stats.mpc -D N=1..10000000 --parties a,b,c) ||
    fail "mpcc --approve"
echo "$LINE" | grep -qx 'allow = [0-9a-f]\{64\} N=1\.\.10000000 parties=a,b,c' || fail "the allow line: $LINE"
[ "$("$BIN/mpcc" --approve examples/joint_stats.mpc -D N=1..10000000)" = "$LINE" ] ||
    fail "--parties does not default to the program's parties"
out=$("$BIN/mpcc" --approve examples/joint_stats.mpc 2>&1) && fail "a free param was accepted: $out"
echo "$out" | grep -q "param 'N' is left free" || fail "the free param is not named: $out"
printf 'party a, b\nparam parties = 3\ninput x: int from a\noutput y = x * parties to b\n' > "$D/pp.mpc"
out=$("$BIN/mpcc" --approve "$D/pp.mpc" -D parties=3 2>&1) && fail "a param named parties was approved: $out"
echo "$out" | grep -q "param 'parties' cannot be constrained" || fail "the param named parties: $out"
out=$("$BIN/mpcc" --approve examples/joint_stats.mpc -D N=1..10 --parties a,b 2>&1) && fail "two parties for three: $out"
echo "$out" | grep -q "names 2 parties but examples/joint_stats.mpc declares 3" || fail "--parties count: $out"
ok "mpcc --approve prints the allow line and refuses a free param, a param named parties and a wrong --parties"

reload_all() {
    for p in a b c; do
        n=$(grep -c "reload: configuration from\|reload refused" "$D/$p.log")
        kill -HUP "$(cat "$D/$p.pid")" || fail "SIGHUP $p"
        i=0
        until [ "$(grep -c "reload: configuration from\|reload refused" "$D/$p.log")" -gt "$n" ]; do
            i=$((i + 1)); [ $i -lt 100 ] || fail "$p did not reload"; sleep 0.1
        done
    done
}
for p in a b c; do
    grep -q "^allow_any_program = true$" "$D/$p.ini" || fail "$p.ini has no allow_any_program line"
    sed -i "s/^allow_any_program = true$/allow_any_program = false\n$LINE/" "$D/$p.ini"
done
reload_all
for p in a b c; do
    grep -q "reload: configuration from .* 0 allowed programs, 1 program approvals" "$D/$p.log" ||
        fail "$p did not apply the approval"
done

# --- 1. runs at two sizes, with and without pushdown ----------------------------------------
same() {  # same FILE_A FILE_B
    python3 - "$1" "$2" <<'PY'
import sys
a = [l.split(" = ", 1) for l in open(sys.argv[1]).read().splitlines()]
b = [l.split(" = ", 1) for l in open(sys.argv[2]).read().splitlines()]
if [x[0] for x in a] != [x[0] for x in b] or len(a) != 2:
    sys.exit(f"output names differ: {a} {b}")
for (n, va), (_, vb) in zip(a, b):
    if abs(float(va) - float(vb)) > 1e-3 * max(1.0, abs(float(vb))):
        sys.exit(f"{n}: mpc {va} vs eval {vb}")
PY
}
for N in 1000 100000; do
    for p in a b c; do
        python3 -c "import random; random.seed('$p$N'); print('\n'.join('%.2f' % random.uniform(0, 1000) for _ in range($N)))" > "$D/x$p.csv"
    done
    set -- -D N=$N --input xa=@"$D/xa.csv" --input xb=@"$D/xb.csv" --input xc=@"$D/xc.csv"
    "$BIN/mpcc" --eval examples/joint_stats.mpc "$@" > "$D/eval.out" || fail "mpcc --eval at N=$N"
    for flag in "" --no-pushdown; do
        # shellcheck disable=SC2086
        "$MPC" run examples/joint_stats.mpc "$@" $flag --config "$C" > "$D/mpc.out" 2> "$D/mpc.err" ||
            fail "joint_stats at N=$N $flag: $(cat "$D/mpc.err")"
        same "$D/mpc.out" "$D/eval.out" || fail "N=$N $flag: MPC and evaluator differ"
    done
    ok "joint_stats approved by program runs at N=$N (with and without pushdown) and matches mpcc --eval"
done

# --- 2. refusals ----------------------------------------------------------------------------
out=$("$MPC" submit examples/joint_stats.mpc -D N=10000001 --config "$C" 2>&1) && fail "N=10000001 was admitted: $out"
echo "$out" | grep -q "param N=10000001 outside 1\.\.10000000 for program" || fail "the refusal at N=10000001: $out"
ok "refused at N=10000001, naming the param and the range"
out=$("$MPC" submit examples/joint_stats.mpc -D N=1000 --bind a=b,b=a,c=c --config "$C" 2>&1) &&
    fail "a swapped binding was admitted: $out"
echo "$out" | grep -q "binding a=b,b=a,c=c not approved for program" || fail "the refusal of the binding: $out"
ok "refused with parties a and b swapped by --bind, naming the binding"

# --- 3. a new approval by reload --------------------------------------------------------------
set -- --input x=12 --input y=30 --input z=-2
out=$("$MPC" run examples/secure_sum.mpc "$@" --config "$C" 2>&1) && fail "secure_sum ran unapproved: $out"
echo "$out" | grep -q "program not approved: program [0-9a-f]\{64\} (circuit [0-9a-f]\{64\}) is not in this party's allowlist" ||
    fail "the refusal of an unapproved program: $out"
LINE2=$("$BIN/mpcc" --approve examples/secure_sum.mpc) || fail "mpcc --approve secure_sum"
for p in a b c; do echo "$LINE2" >> "$D/$p.ini"; done
# the key is in [policy]: move the appended line there (after the first allow line)
for p in a b c; do
    python3 - "$D/$p.ini" "$LINE2" <<'PY'
import sys
path, line = sys.argv[1], sys.argv[2]
lines = open(path).read().splitlines()
lines.remove(line)
i = next(k for k, l in enumerate(lines) if l.startswith("allow = "))
lines.insert(i + 1, line)
open(path, "w").write("\n".join(lines) + "\n")
PY
done
reload_all
grep -q "reload: configuration from .* 2 program approvals" "$D/a.log" || fail "a did not apply the second approval"
"$MPC" run examples/secure_sum.mpc "$@" --config "$C" > "$D/mpc.out" 2> "$D/mpc.err" ||
    fail "secure_sum after the reload: $(cat "$D/mpc.err")"
"$BIN/mpcc" --eval examples/secure_sum.mpc "$@" > "$D/eval.out" || fail "mpcc --eval secure_sum"
cmp -s "$D/mpc.out" "$D/eval.out" || fail "secure_sum: $(cat "$D/mpc.out") vs $(cat "$D/eval.out")"
ok "an approval added by a reload admits a new program without a restart"
