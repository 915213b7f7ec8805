#!/bin/sh
# Key rotation with overlap across a running 3-party cluster with a dealer (scripts/cluster,
# ipc:// endpoints), following docs/daemon.md "Rotating a key", with no failed job:
#  1. b's new key is added as next_public_key on a, c and the dealer (SIGHUP); jobs run;
#  2. b restarts with the new key pair; the others connect to it with its new key; jobs run;
#  3. the new key becomes public_key, the old one is dropped (SIGHUP); jobs run.
# Then a party restarted with a key nobody knows yet: its handshakes are refused (logged
# rate-limited), it keeps retrying, and once the others learn the key by a reload it connects
# without being restarted again.
# Prints `ok …` per check; exits non-zero at the first failure.
set -u
BIN=${MPC_BIN:-$(pwd)/bin}
export MPC_BIN="$BIN"
MPC="$BIN/mpc"
D=$(mktemp -d /tmp/mpcd-rotate.XXXXXX)
cleanup() { scripts/cluster down --dir "$D" >/dev/null 2>&1; rm -rf "$D"; }
trap cleanup EXIT
. tests/lib.sh

C=$(scripts/cluster up 3 --prep dealer --dir "$D" --set limits.peer_timeout_ms=2000 --set limits.heartbeat_ms=200) ||
    fail "cluster did not start"
sed -i 's/^timeout_ms = .*/timeout_ms = 10000/' "$C"
N=0
job() {   # one job through every party; its answer must be right
    N=$((N + 1))
    out=$("$MPC" run examples/secure_sum.mpc --config "$C" --input x=$N --input y=10 --input z=100 2>&1 |
          grep -v "submitted$")
    [ "$out" = "total = $((N + 110))" ] || fail "job $N ($1): $out"
}
reload() {   # SIGHUP to each daemon named, waiting for its outcome line
    for p in "$@"; do
        n=$(grep -c "reload: configuration from\|reload refused" "$D/$p.log")
        kill -HUP "$(cat "$D/$p.pid")" || fail "SIGHUP $p"
        i=0
        until [ "$(grep -c "reload: configuration from\|reload refused" "$D/$p.log")" -gt "$n" ]; do
            i=$((i + 1)); [ $i -lt 100 ] || fail "$p did not reload"; sleep 0.1
        done
        grep "reload refused" "$D/$p.log" && fail "$p refused the reload"
    done
}
# ini FILE SECTION KEY [VALUE]: sets KEY in [SECTION] of FILE, or removes it (tests/ini-set).
ini() { python3 tests/ini-set "$@"; }
add_next() {   # add_next PARTY KEY FILE...
    who=$1; key=$2; shift 2
    for f in "$@"; do ini "$f" "party $who" next_public_key "$key"; done
}
promote() {    # promote PARTY KEY FILE...: KEY becomes public_key, next_public_key goes
    who=$1; key=$2; shift 2
    for f in "$@"; do ini "$f" "party $who" public_key "$key"; ini "$f" "party $who" next_public_key; done
}
client_key() { # client_key PARTY KEY: the clients' configurations name PARTY's new server key
    for f in "$D"/client*.ini; do ini "$f" "daemon $1" public_key "$2"; done
}

job "before the rotation"
ok "the cluster runs jobs"

# --- 1. the new key announced -------------------------------------------------------------
"$BIN/mpcd" keygen b2 --dir "$D/keys" >/dev/null || fail "keygen b2"
NEWB=$(cat "$D/keys/b2.pub")
OLDB=$(cat "$D/keys/b.pub")
add_next b "$NEWB" "$D/a.ini" "$D/c.ini" "$D/dealer.ini"
reload a c dealer
job "b's next key announced"
ok "step 1: b's next key added on a, c and the dealer by SIGHUP; jobs run"

# --- 2. b restarts with its new key -------------------------------------------------------
sed -i 's#^public_key_file = keys/b.pub#public_key_file = keys/b2.pub#; s#^secret_key_file = keys/b.secret#secret_key_file = keys/b2.secret#' \
    "$D/b.ini"
client_key b "$NEWB"
scripts/cluster restart b --dir "$D" > "$D/restart.err" 2>&1 || fail "restart b: $(cat "$D/restart.err")"
job "b restarted with its new key"
job "again"
ok "step 2: b restarted with its new key pair; a, c and the dealer connect to it; jobs run"

# --- 3. the new key becomes the key -------------------------------------------------------
promote b "$NEWB" "$D/a.ini" "$D/c.ini" "$D/dealer.ini"
grep -qF "$OLDB" "$D/a.ini" "$D/c.ini" "$D/dealer.ini" && fail "the old key is still listed"
grep -qxF "public_key = $NEWB" "$D/a.ini" || fail "promote did not work: $(grep -A3 "party b" "$D/a.ini")"
reload a c dealer
job "b's old key dropped"
grep -h "job=[0-9a-f]* .*failed" "$D"/*.log && fail "a job failed during the rotation"
ok "step 3: the new key promoted and the old one dropped by SIGHUP; jobs run; no job failed"

# --- 4. a party restarted with a key nobody knows yet -------------------------------------
"$BIN/mpcd" keygen c2 --dir "$D/keys" >/dev/null || fail "keygen c2"
NEWC=$(cat "$D/keys/c2.pub")
scripts/cluster stop c --dir "$D" || fail "stop c"
sed -i 's#^public_key_file = keys/c.pub#public_key_file = keys/c2.pub#; s#^secret_key_file = keys/c.secret#secret_key_file = keys/c2.secret#' \
    "$D/c.ini"
client_key c "$NEWC"
refused_before=$(grep -c "refused" "$D/a.log")
CL=$(($(wc -c < "$D/c.log") + 1))   # c's log from its new start on
clog() { tail -c +$CL "$D/c.log"; }
"$BIN/mpcd" --config "$D/c.ini" >> "$D/c.log" 2>&1 &
echo $! > "$D/c.pid"
i=0
until clog | grep -q "waiting for peers: .*it refused our key"; do
    i=$((i + 1)); [ $i -lt 200 ] || fail "c does not report its key refused"; sleep 0.1
done
sleep 4   # c keeps retrying meanwhile (1 s, 2 s, ...)
refused=$(( $(grep -c "refused" "$D/a.log") - refused_before ))
[ "$refused" -ge 1 ] || fail "a logged no refused handshake"
[ "$refused" -le 6 ] || fail "a logged $refused refusal lines in about 6 s: $(grep refused "$D/a.log" | tail -n 8)"
ok "c with an unknown key: refused by the others ($refused refusal lines on a in ~6 s), it keeps retrying"
clog | grep -q "all peers connected" && fail "c connected with a key nobody knows"
add_next c "$NEWC" "$D/a.ini" "$D/b.ini" "$D/dealer.ini"
reload a b dealer
i=0
until clog | grep -q "all peers connected"; do
    i=$((i + 1)); [ $i -lt 400 ] || fail "c did not connect after the others learnt its key"; sleep 0.1
done
kill -0 "$(cat "$D/c.pid")" || fail "c is gone"
job "c connected after the others learnt its key"
ok "after a reload on a, b and the dealer, c connected $((i / 10)) s later without a restart; jobs run"
