#!/bin/sh
# mpcd as a service, with real daemons (scripts/cluster, ipc:// endpoints):
#  1. secrets protection: a running daemon's core limit is 0 (soft and hard), and it is not
#     dumpable: its /proc/PID files belong to root although it runs as another user (root
#     runs it as nobody through setpriv); a process of that user that did not ask for it
#     owns its own /proc files (so the check can tell).  A locked-memory limit below the
#     daemon's estimate gives a warning at start; the ordinary limit does not.  A libzmq that
#     refuses ZMQ_ZAP_ENFORCE_DOMAIN on either CURVE server stops the start with an error.
#  2. sd_notify: a fake notify socket (NOTIFY_SOCKET) gets STATUS= lines (starting, waiting
#     for peers, then serving as the last) and WATCHDOG=1 at half WATCHDOG_USEC while the
#     daemon waits for its peers, READY=1 only once its mesh is up (after the log says "all
#     peers connected"), STOPPING=1 on SIGTERM; exit status 0.
#  3. log formats: with log_format = json every line the daemons write is one JSON object
#     with exactly ts, level, party, job and msg; with stderr the journal (JOURNAL_STREAM
#     naming it) every line starts with its syslog priority (<6> info, <4> warning), and not
#     when JOURNAL_STREAM names another file.
#  4. the systemd unit (configs/mpcd@.service), installed by `make install`: systemd-analyze
#     verify when available, and its keys checked either way.
# Prints `ok …` per check; exits non-zero at the first failure.
set -u
BIN=${MPC_BIN:-$(pwd)/bin}
export MPC_BIN="$BIN"
D=$(mktemp -d /tmp/mpcd-service.XXXXXX)
EXTRA_PIDS=""
cleanup() {
    for p in $EXTRA_PIDS; do kill "$p" 2>/dev/null; done
    scripts/cluster down --dir "$D" >/dev/null 2>&1; rm -rf "$D"
}
trap cleanup EXIT
FAIL_EXTRA="$D/notify.out"
. tests/lib.sh
# wait_for FILE PATTERN [OFFSET]: until grep finds PATTERN in FILE past byte OFFSET (10 s at most)
wait_for() {
    i=0
    until tail -c +$((${3:-0} + 1)) "$1" 2>/dev/null | grep -q "$2"; do
        i=$((i + 1)); [ $i -lt 100 ] || return 1; sleep 0.1
    done
}

C=$(scripts/cluster up 2 --prep dealer --dir "$D" --set limits.heartbeat_ms=200) || fail "cluster did not start"

# --- 1. secrets protection ------------------------------------------------------------------------
APID=$(cat "$D/a.pid")
core=$(prlimit --pid "$APID" --core -o SOFT,HARD --noheadings | tr -s ' ' | sed 's/^ //; s/ $//')
[ "$core" = "0 0" ] || fail "core limit of a running daemon: '$core', not '0 0'"
ok "a running daemon's core limit is 0, soft and hard"
grep -q "locked memory limit: " "$D/a.log" || fail "no locked memory line at start"
grep -q "RLIMIT_MEMLOCK" "$D/a.log" && fail "a memlock warning under the ordinary limit ($(ulimit -l) KiB)"
ok "under the ordinary locked-memory limit ($(ulimit -l) KiB) the daemon does not warn"

scripts/cluster stop b --dir "$D"
if [ "$(id -u)" -eq 0 ]; then
    # run b as nobody: the directory, keys and a copy of the program must be its own
    chown -R 65534:65534 "$D"
    cp "$BIN/mpcd" "$D/mpcd"
    RUNAS="setpriv --reuid=65534 --regid=65534 --clear-groups"
    MPCD_B="$D/mpcd"
else
    RUNAS=""
    MPCD_B="$BIN/mpcd"
fi
off=$(stat -c %s "$D/b.log")
# shellcheck disable=SC2086
prlimit --memlock=65536:65536 $RUNAS "$MPCD_B" --config "$D/b.ini" >> "$D/b.log" 2>&1 &
BPID=$!
echo "$BPID" > "$D/b.pid"
wait_for "$D/b.log" "listening" "$off" || fail "b did not start as $(id -un 65534 2>/dev/null || id -un)"
uid=$(awk '/^Uid:/ {print $2}' "/proc/$BPID/status")
owner=$(stat -c %u "/proc/$BPID/status")
[ "$uid" != 0 ] || fail "b runs as root: the check below would prove nothing"
[ "$owner" = 0 ] || fail "b (uid $uid) owns its /proc files (owner $owner): it is dumpable"
# shellcheck disable=SC2086
$RUNAS sleep 30 &
SPID=$!
EXTRA_PIDS="$SPID"
sleep 0.2
sowner=$(stat -c %u "/proc/$SPID/status")
kill "$SPID"; wait "$SPID" 2>/dev/null
[ "$sowner" = "$uid" ] || fail "a plain process of uid $uid has /proc owner $sowner: the check cannot tell"
ok "the daemon is not dumpable: running as uid $uid, its /proc/PID files are root's (a plain process's: uid $sowner)"
tail -c +$((off + 1)) "$D/b.log" | grep -q "locked memory limit (RLIMIT_MEMLOCK, 64 KiB) is below the about [0-9]* KiB" ||
    fail "no memlock warning with a 64 KiB limit"
ok "a 64 KiB locked-memory limit gives a warning at start"
kill "$BPID"; wait "$BPID" 2>/dev/null
rm -f "$D/b.pid"

# A libzmq that refuses ZMQ_ZAP_ENFORCE_DOMAIN (a preloaded stand-in for zmq_setsockopt refuses
# its Nth setting): the daemon does not start, and says why.  The peer ROUTER is set up first,
# then the client ROUTER.  No daemon of the cluster runs meanwhile (a's sockets are its own).
scripts/cluster down --dir "$D"
cat > "$D/noenforce.c" <<'C'
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
int zmq_setsockopt(void *s, int opt, const void *v, size_t len);
int zmq_setsockopt(void *s, int opt, const void *v, size_t len)
{
    static int (*real)(void *, int, const void *, size_t);
    static int n;
    const char *at = getenv("NOENFORCE_AT");
    if (!real) *(void **)&real = dlsym(RTLD_NEXT, "zmq_setsockopt");
    if (opt == 93 && ++n == (at ? atoi(at) : 1)) {
        errno = EINVAL;
        return -1;
    }
    return real(s, opt, v, len);
}
C
${CC:-cc} -shared -fPIC -o "$D/noenforce.so" "$D/noenforce.c" -ldl || fail "cannot build the libzmq stand-in"
for at in 1 2; do
    LD_PRELOAD="$D/noenforce.so" NOENFORCE_AT=$at ASAN_OPTIONS="${ASAN_OPTIONS:-}:verify_asan_link_order=0" \
        "$BIN/mpcd" --config "$D/a.ini" > "$D/noenforce.out" 2>&1
    rc=$?
    [ $at = 1 ] && what="the peer ROUTER" || what="the client endpoint ipc://"
    [ $rc -eq 1 ] || fail "ZMQ_ZAP_ENFORCE_DOMAIN refused (setting $at): exit $rc: $(cat "$D/noenforce.out")"
    grep -q "ERROR .*cannot start: cannot set up $what.*libzmq refused ZMQ_ZAP_ENFORCE_DOMAIN" "$D/noenforce.out" ||
        fail "ZMQ_ZAP_ENFORCE_DOMAIN refused (setting $at): $(cat "$D/noenforce.out")"
done
ok "a libzmq that refuses ZMQ_ZAP_ENFORCE_DOMAIN: the daemon does not start, naming the peer or client socket"

# --- 2. sd_notify -----------------------------------------------------------------------------------
scripts/cluster down --dir "$D"
cat > "$D/notify.py" <<'P'
import os, socket, struct, sys, time
path, out, log, off = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
s.bind(path)
s.settimeout(0.1)
end = time.time() + 90
with open(out, "a", buffering=1) as f:
    f.write("listening\n")
    while time.time() < end and not os.path.exists(path + ".stop"):
        try:
            msg, anc, _, _ = s.recvmsg(4096, socket.CMSG_SPACE(12))
        except socket.timeout:
            continue
        pid = 0
        for lvl, typ, data in anc:
            if lvl == socket.SOL_SOCKET and typ == socket.SCM_CREDENTIALS:
                pid = struct.unpack("iII", data[:12])[0]
        for line in msg.decode("utf-8", "replace").split("\n"):
            if not line:
                continue
            note = ""
            if line == "READY=1":   # what the daemon had logged when it said it was ready
                with open(log, "rb") as lf:
                    lf.seek(off)
                    note = " mesh-logged=" + ("yes" if b"all peers connected" in lf.read() else "no")
            f.write(f"{pid} {line}{note}\n")
P
off=$(stat -c %s "$D/a.log")
python3 "$D/notify.py" "$D/notify.sock" "$D/notify.out" "$D/a.log" "$off" &
NPID=$!
EXTRA_PIDS="$NPID"
wait_for "$D/notify.out" "^listening" || fail "the fake notify socket did not start"
NOTIFY_SOCKET="$D/notify.sock" WATCHDOG_USEC=400000 "$BIN/mpcd" --config "$D/a.ini" >> "$D/a.log" 2>&1 &
APID=$!
echo "$APID" > "$D/a.pid"
sleep 2   # b and the dealer are down: a waits for them
grep -q "^$APID READY=1" "$D/notify.out" && fail "READY=1 before the peers were up"
grep -q "^$APID STATUS=waiting for peers" "$D/notify.out" || fail "no STATUS=waiting for peers"
n=$(grep -c "^$APID WATCHDOG=1$" "$D/notify.out")
[ "$n" -ge 5 ] || fail "$n WATCHDOG=1 in 2 s with WATCHDOG_USEC=400000 (one every 200 ms expected)"
ok "waiting for its peers: STATUS=waiting for peers, $n WATCHDOG=1 in 2 s (interval 400 ms), no READY=1"
scripts/cluster start --dir "$D" > /dev/null || fail "b and the dealer did not start"
wait_for "$D/notify.out" "^$APID READY=1" || fail "no READY=1 once the peers were up"
grep -q "^$APID READY=1 mesh-logged=yes$" "$D/notify.out" || fail "READY=1 before the log said the peers were up"
grep -q "^$APID STATUS=serving: all 2 peers connected$" "$D/notify.out" || fail "no STATUS=serving"
grep -q "^$APID STATUS=starting" "$D/notify.out" || fail "no STATUS=starting"
last=$(grep "^$APID STATUS=" "$D/notify.out" | tail -n 1)
[ "$last" = "$APID STATUS=serving: all 2 peers connected" ] || fail "the last status is not serving: $last"
ok "READY=1 once every peer is connected, with STATUS=serving: all 2 peers connected (the last status)"
kill -TERM "$APID"
wait "$APID"
rc=$?
[ $rc -eq 0 ] || fail "a exited $rc after SIGTERM"
grep -q "^$APID STOPPING=1$" "$D/notify.out" || fail "no STOPPING=1 on SIGTERM"
ok "SIGTERM: STOPPING=1, exit status 0"
touch "$D/notify.sock.stop"
wait "$NPID" 2>/dev/null
EXTRA_PIDS=""
rm -f "$D/a.pid"

# --- 3. log formats ---------------------------------------------------------------------------------
scripts/cluster down --dir "$D"
for f in a b dealer; do sed -i 's/^\[mpcd\]$/[mpcd]\nlog_format = json/' "$D/$f.ini"; done
: > "$D/a.log"; : > "$D/b.log"; : > "$D/dealer.log"
scripts/cluster start --dir "$D" > /dev/null || fail "the cluster with JSON logs did not start"
scripts/cluster down --dir "$D"
cat > "$D/jsonlog.py" <<'P'
import json, sys
n = 0
for path in sys.argv[1:]:
    party = path.rsplit("/", 1)[1][:-4]
    for line in open(path, encoding="utf-8"):
        o = json.loads(line)
        assert list(o) == ["ts", "level", "party", "job", "msg"], (path, line)
        assert o["level"] in ("error", "warn", "info", "debug"), line
        assert o["party"] == party and (o["job"] is None or isinstance(o["job"], str)), line
        assert o["ts"].endswith("Z") and len(o["ts"]) == 24, line
        n += 1
    assert '"msg":"all peers connected"' in open(path).read(), path
    assert '"msg":"stopped"' in open(path).read(), path
print(n)
P
n=$(python3 "$D/jsonlog.py" "$D/a.log" "$D/b.log" "$D/dealer.log") || fail "JSON log lines"
ok "log_format = json: each of the $n lines of 3 daemons is one JSON object {ts, level, party, job, msg}"

for f in a b dealer; do sed -i '/^log_format = json$/d' "$D/$f.ini"; done
J="$D/journal.log"
: > "$J"
JOURNAL_STREAM=$(stat -c '%d:%i' "$J") prlimit --memlock=65536:65536 "$BIN/mpcd" --config "$D/a.ini" 2>> "$J" &
APID=$!
wait_for "$J" "listening" || fail "a did not start with JOURNAL_STREAM"
kill -TERM "$APID"; wait "$APID"
bad=$(grep -cv '^<[3467]>[0-9]\{4\}-' "$J")
[ "$bad" -eq 0 ] || fail "$bad lines without a priority prefix: $(cat "$J")"
grep -q '^<6>.* INFO  party=a job=- .*listening' "$J" || fail "no <6> info line"
grep -q '^<4>.* WARN  party=a job=- .*RLIMIT_MEMLOCK' "$J" || fail "no <4> warning line"
ok "stderr the journal: every line starts with its priority ($(wc -l < "$J") lines, <6> info, <4> warning)"
: > "$J"
JOURNAL_STREAM=1:1 "$BIN/mpcd" --config "$D/a.ini" 2>> "$J" &
APID=$!
wait_for "$J" "listening" || fail "a did not start with a foreign JOURNAL_STREAM"
kill -TERM "$APID"; wait "$APID"
grep -q '^<' "$J" && fail "a priority prefix though JOURNAL_STREAM names another file: $(head -n 2 "$J")"
ok "JOURNAL_STREAM naming another file: plain lines"

# --- 4. the systemd unit ------------------------------------------------------------------------------
# Installed as `make install` does (install-unit builds nothing), with the prefix that holds the
# daemon under test, so ExecStart names a real program.
PREFIX=$(cd "$BIN/.." && pwd)
make --no-print-directory install-unit DESTDIR="$D/root" PREFIX="$PREFIX" > "$D/install.log" 2>&1 ||
    fail "make install-unit: $(cat "$D/install.log")"
U="$D/root$PREFIX/lib/systemd/system/mpcd@.service"
[ -f "$U" ] || fail "make install-unit did not install $U"
[ "$(stat -c %a "$U")" = 644 ] || fail "unit mode $(stat -c %a "$U")"
checked=""
key() {   # key NAME VALUE-REGEX: the unit sets NAME to a matching value
    grep -q "^$1=$2\$" "$U" || fail "the unit lacks $1=$2: $(grep "^$1=" "$U")"
    checked="$checked $1"
}
key ExecStart "$PREFIX/bin/mpcd --config /etc/mpcd/%i.ini"
key Type notify
key WatchdogSec "[1-9][0-9]*s"
key Restart on-failure
key ExecReload '/bin/kill -HUP \$MAINPID'
key NoNewPrivileges yes
key ProtectSystem strict
key ProtectHome yes
key PrivateTmp yes
key LimitCORE 0
key LimitMEMLOCK "[1-9][0-9]*[KMG]"
key User mpcd
# ExecStart's command line is one mpcd takes: a missing file is a configuration error (1), not a
# usage error (2)
"$BIN/mpcd" --config "$D/no-such.ini" > "$D/exec.out" 2>&1
rc=$?
[ $rc -eq 1 ] || fail "mpcd --config FILE as in ExecStart: exit $rc: $(cat "$D/exec.out")"
# LimitMEMLOCK covers the daemon's estimate for the largest mesh (16 parties, ot preprocessing)
lim=$(sed -n 's/^LimitMEMLOCK=\([0-9]*\)M$/\1/p' "$U")
[ -n "$lim" ] && [ "$lim" -ge 8 ] || fail "LimitMEMLOCK=$(sed -n 's/^LimitMEMLOCK=//p' "$U") is below 8M"
ok "the installed unit sets:$checked (ExecStart's flags are mpcd's)"
if command -v systemd-analyze > /dev/null; then
    cp "$U" "$D/root/mpcd@a.service"
    if ! systemd-analyze verify "$D/root/mpcd@a.service" > "$D/verify.out" 2>&1 || [ -s "$D/verify.out" ]; then
        fail "systemd-analyze verify: $(cat "$D/verify.out")"
    fi
    ok "systemd-analyze verify: the unit (instance a) parses with no warning"
else
    echo "note: systemd-analyze is not installed: the unit's keys were checked, not verified by systemd"
fi
