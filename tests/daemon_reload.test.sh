#!/bin/sh
# SIGHUP reloads the configuration without a restart, with real daemons (scripts/cluster,
# ipc:// endpoints, OT preprocessing with a triple pool):
#  1. an allowlist put in place by a reload refuses other programs;
#  2. a program added to the allowlist by a reload runs, while a long job that was running
#     across the reload completes with the right answer; the pool's stock is not emptied and
#     the mesh never dropped;
#  3. a client key added by a reload is admitted; a client removed by one is refused;
#  4. a file with an error is refused (file:line: error: … logged), the running configuration
#     stays and the daemon keeps serving;
#  5. a change that needs a restart (a peer's endpoint) is named in the log and ignored;
#  6. a client key rotated with next_public_key: both keys admitted, then only the new one.
# Prints `ok …` per check; exits non-zero at the first failure.
set -u
BIN=${MPC_BIN:-$(pwd)/bin}
export MPC_BIN="$BIN"
MPC="$BIN/mpc"
D=$(mktemp -d /tmp/mpcd-reload.XXXXXX)
cleanup() { scripts/cluster down --dir "$D" >/dev/null 2>&1; rm -rf "$D"; }
trap cleanup EXIT
. tests/lib.sh

C=$(scripts/cluster up 2 --dir "$D" --set mpcd.pool_triples=4096 --set mpcd.pool_chunk=1024) ||
    fail "cluster did not start"
sed -i 's/^timeout_ms = .*/timeout_ms = 5000/' "$C"

# Sends SIGHUP to a and b and waits until both logged the outcome of that reload (applied or
# refused): the count of "reload" outcome lines grows by one in each log.
reload_all() {
    for p in a b; do
        n=$(grep -c "reload: configuration from\|reload refused" "$D/$p.log")
        kill -HUP "$(cat "$D/$p.pid")" || fail "SIGHUP $p"
        i=0
        until [ "$(grep -c "reload: configuration from\|reload refused" "$D/$p.log")" -gt "$n" ]; do
            i=$((i + 1)); [ $i -lt 100 ] || fail "$p did not reload"; sleep 0.1
        done
    done
}
stock() { "$MPC" status --config "$C" 2>/dev/null | sed -n "s/^$1: .*stock \([0-9]*\) triples.*/\1/p"; }

cat > "$D/two.mpc" <<'P'
party a, b
input x: int from a
input y: int from b
output s = x + y to a, b
P
cat > "$D/long.mpc" <<'P'
party a, b
input x: int[1000] from a
input y: int[1000] from b
var acc = x
for i in 0..200 {
  acc = acc * y + x
}
output s = sum(acc) to a, b
P
python3 -c "print(','.join(['1'] * 1000))" > "$D/v.txt"
hash_of() { "$BIN/mpcc" --stats "$1" 2>&1 | grep -o 'hash: [0-9a-f]\{64\}' | cut -c7-; }
HLONG=$(hash_of "$D/long.mpc")
HTWO=$(hash_of "$D/two.mpc")
[ -n "$HLONG" ] && [ -n "$HTWO" ] || fail "no hash from mpcc --stats"

# --- 1. an allowlist by reload --------------------------------------------------------------
i=0
until [ "$(stock a)" = 4096 ] && [ "$(stock b)" = 4096 ]; do
    i=$((i + 1)); [ $i -lt 300 ] || fail "the pool never filled: $("$MPC" status --config "$C")"; sleep 0.1
done
for p in a b; do sed -i "s/^allow_any_program = true$/allow_any_program = false\nallow = $HLONG/" "$D/$p.ini"; done
reload_all
grep -q "reload: configuration from .* 1 allowed programs" "$D/a.log" || fail "a did not apply the allowlist"
out=$("$MPC" run "$D/two.mpc" --config "$C" --input x=1 --input y=2 2>&1) && fail "a program not allowed ran: $out"
echo "$out" | grep -q "not in this party's allowlist" || fail "the refusal: $out"
ok "an allowlist put in place by SIGHUP refuses another program"
[ "$(stock a)" = 4096 ] && [ "$(stock b)" = 4096 ] || fail "the reload touched the pool: $("$MPC" status --config "$C")"
ok "the triple pool's stock is untouched by the reload (4096 triples on a and b)"

# --- 2. a program allowed by reload runs; a long job runs across the reload ----------------
"$MPC" run "$D/long.mpc" --config "$C" --input x=@"$D/v.txt" --input y=@"$D/v.txt" > "$D/long.out" 2>&1 &
LP=$!
i=0
until grep -q "running: 2 inputs" "$D/a.log"; do
    i=$((i + 1)); [ $i -lt 200 ] || fail "the long job did not start"; sleep 0.1
done
for p in a b; do sed -i "s/^allow = $HLONG$/allow = $HLONG, $HTWO/" "$D/$p.ini"; done
reload_all
kill -0 $LP 2>/dev/null || fail "the long job ended before the reload was done (make it longer): $(cat "$D/long.out")"
out=$("$MPC" run "$D/two.mpc" --config "$C" --input x=40 --input y=2 2>&1 | grep -v "submitted$")
[ "$out" = "s = 42" ] || fail "the newly allowed program: $out"
wait $LP || fail "the long job: $(cat "$D/long.out")"
# acc_0 = 1, acc_{k+1} = acc_k + 1: 201 in each of 1000 elements
grep -qx "s = 201000" "$D/long.out" || fail "the long job's answer: $(cat "$D/long.out")"
[ "$(grep -c "all peers connected" "$D/a.log")" = 1 ] || fail "a's mesh was made again"
ok "a program allowed by SIGHUP ran without a restart; the long job running across the reload completed"

# --- 3. clients added and removed ------------------------------------------------------------
"$BIN/mpcd" keygen newc --dir "$D/keys" >/dev/null || fail "keygen"
sed -e 's/^name = client$/name = newc/' -e 's/keys\/client\./keys\/newc./' -e 's/^timeout_ms = .*/timeout_ms = 2000/' \
    "$C" > "$D/newc.ini"
out=$("$MPC" run "$D/two.mpc" --config "$D/newc.ini" --input x=1 --input y=1 2>&1) && fail "an unknown client was served: $out"
ok "a client not in the configuration is refused"
for p in a b; do
    printf '\n[client newc]\npublic_key = %s\ninput_for = *\noutput_for = *\nsubmit = true\n' "$(cat "$D/keys/newc.pub")" \
        >> "$D/$p.ini"
done
reload_all
out=$("$MPC" run "$D/two.mpc" --config "$D/newc.ini" --input x=5 --input y=6 2>&1 | grep -v "submitted$")
[ "$out" = "s = 11" ] || fail "the client added by SIGHUP: $out"
ok "a client added by SIGHUP is admitted and served"
for p in a b; do python3 - "$D/$p.ini" <<'P'
import sys, re
t = open(sys.argv[1]).read()
open(sys.argv[1], "w").write(re.sub(r"\n\[client newc\]\n(?:[^\[\n][^\n]*\n)*", "\n", t))
P
done
grep -q "client newc" "$D/a.ini" && fail "the test did not remove newc"
reload_all
out=$("$MPC" run "$D/two.mpc" --config "$D/newc.ini" --input x=1 --input y=1 2>&1) && fail "a removed client was served: $out"
out=$("$MPC" run "$D/two.mpc" --config "$C" --input x=2 --input y=3 2>&1 | grep -v "submitted$")
[ "$out" = "s = 5" ] || fail "the remaining client after removing newc: $out"
ok "a client removed by SIGHUP is refused; the others are served"

# --- 4. a bad file ------------------------------------------------------------------------------
cp "$D/a.ini" "$D/a.ini.good"
sed -i "s/^allow = .*/allow = $HTWO, not-a-hash/" "$D/a.ini"
LINE=$(grep -n "^allow = " "$D/a.ini" | cut -d: -f1)
reload_all
grep -q "ERROR .*reload refused, the running configuration stays: $D/a.ini:$LINE: error: allow: 'not-a-hash'" "$D/a.log" ||
    fail "no file:line error for the bad file: $(grep reload "$D/a.log" | tail -n 2)"
out=$("$MPC" run "$D/long.mpc" --config "$C" --input x=@"$D/v.txt" --input y=@"$D/v.txt" 2>&1 | grep -v "submitted$")
[ "$out" = "s = 201000" ] || fail "the running allowlist after a refused reload: $out"
ok "a file with an error is refused with file:line: error, the running configuration stays and serves"
cp "$D/a.ini.good" "$D/a.ini"

# --- 5. a change that needs a restart -----------------------------------------------------
sed -i "s#^endpoint = ipc://$D/b.peer.sock#endpoint = ipc://$D/elsewhere.sock#" "$D/a.ini"
grep -q "elsewhere" "$D/a.ini" || fail "the test did not change b's endpoint"
reload_all
grep -q 'WARN .*reload: `endpoint` of party b changed; restart needed' "$D/a.log" || fail "the endpoint change was not named"
out=$("$MPC" run "$D/two.mpc" --config "$C" --input x=3 --input y=4 2>&1 | grep -v "submitted$")
[ "$out" = "s = 7" ] || fail "a job after the ignored endpoint change: $out"
ok "a changed peer endpoint is named as needing a restart and ignored; jobs still run"
[ "$(grep -c "all peers connected" "$D/a.log")" = 1 ] && [ "$(grep -c "all peers connected" "$D/b.log")" = 1 ] ||
    fail "a mesh was made again"
ok "the mesh stayed up through every reload"

# --- 6. a client key rotated with overlap ----------------------------------------------------
# ini FILE SECTION KEY [VALUE]: sets KEY in [SECTION] of FILE, or removes it (tests/ini-set).
ini() { python3 tests/ini-set "$@"; }
"$BIN/mpcd" keygen client2 --dir "$D/keys" >/dev/null || fail "keygen client2"
sed -e 's/keys\/client\./keys\/client2./' "$C" > "$D/client2.ini"
for p in a b; do ini "$D/$p.ini" "client client" next_public_key "$(cat "$D/keys/client2.pub")"; done
reload_all
for cc in "$C" "$D/client2.ini"; do
    out=$("$MPC" run "$D/two.mpc" --config "$cc" --input x=1 --input y=9 2>&1 | grep -v "submitted$")
    [ "$out" = "s = 10" ] || fail "with both keys of client admitted, $cc: $out"
done
for p in a b; do
    ini "$D/$p.ini" "client client" public_key "$(cat "$D/keys/client2.pub")"
    ini "$D/$p.ini" "client client" next_public_key
done
reload_all
out=$("$MPC" run "$D/two.mpc" --config "$D/client2.ini" --input x=2 --input y=9 2>&1 | grep -v "submitted$")
[ "$out" = "s = 11" ] || fail "client's new key after the rotation: $out"
sed -i 's/^timeout_ms = .*/timeout_ms = 2000/' "$C"
out=$("$MPC" run "$D/two.mpc" --config "$C" --input x=1 --input y=1 2>&1) && fail "client's old key still admitted: $out"
ok "a client key rotated with next_public_key: both admitted, then only the new one"
