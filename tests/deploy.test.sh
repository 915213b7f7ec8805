#!/bin/sh
# run-tests: alone (it runs make in this tree; scripts/run-tests)
# docs/deploy.md, followed literally: every `sh` block of the guide runs, in order, as the three
# organizations a, b and c (tests/deploy-run), on this machine, without root:
#  - each host is a long-lived shell with its own directory $T/hosts/NAME: root/ stands for its
#    file system (root/etc/mpcd, root/usr/local), home/ is $HOME, outbox/ and inbox/ are the
#    guide's $OUTBOX and $INBOX (what one host puts in its outbox arrives in the others' inbox,
#    as mail would);
#  - the guide's settings block runs, then these values replace its own: the addresses
#    127.0.0.1, 127.0.0.2, 127.0.0.3 (a, b, c), a peer port and a client port free on all three
#    and a metrics port per host (all below the ephemeral range, none fixed), the source tree
#    this test runs in (its build is reused: `make` builds nothing, `make install` copies),
#    the prefix and /etc under root/;
#  - the commands that need root or systemd are stand-ins first on PATH (tests/deploy-shims/,
#    each file says what it stands for): apt-get (checks the packages are installed), useradd
#    and chown (record, change nothing), nft (checks, records the rules), systemctl (runs the
#    installed unit's ExecStart in the background, SIGHUP for reload, SIGTERM for stop) and
#    journalctl (the unit's output);
#  - every `text output` block is checked against what its block printed.
# First, that the runner fails when it should (small guides of its own).  After the guide: the
# packages it installs include the Makefile's DEPS_DEB; the firewall rules each host loaded
# restrict the peer port to the three parties, the client port to the clients' networks and
# the metrics port to the loopback interface, and b's rules, loaded by the real nft in a network
# namespace of their own, let a party and a client in and keep a stranger and IPv6 out
# (tests/deploy-fwtry; a note instead where nft or user namespaces are missing); the secret
# keys were given to the mpcd user; the daemons listened where the guide said; each did the
# guide's 3 jobs, none failed, no reload was refused.  Every daemon started is stopped and the
# directory removed.
# Prints `ok …` per check; exits non-zero at the first failure.
set -u
BIN=${MPC_BIN:-$(pwd)/bin}
OUTDIR=$(cd "$BIN/.." && pwd)
ROOT=$(pwd)
T=$(mktemp -d /tmp/mpcd-deploy.XXXXXX)
D="$T/logs"   # tests/lib.sh's fail prints the logs here: the hosts' journals, copied at a failure
mkdir -p "$D"
HOSTS="a b c"
stop_all() {
    for h in $HOSTS; do
        for f in "$T/hosts/$h/state/run/"*.pid; do
            [ -f "$f" ] || continue
            p=$(cat "$f")
            kill -TERM "$p" 2>/dev/null
        done
    done
    for h in $HOSTS; do
        for f in "$T/hosts/$h/state/run/"*.pid; do
            [ -f "$f" ] || continue
            p=$(cat "$f"); i=0
            while [ -r "/proc/$p/stat" ] && [ "$(sed 's/^.*) //' "/proc/$p/stat" | cut -d' ' -f1)" != Z ] &&
                  [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
            kill -KILL "$p" 2>/dev/null
            rm -f "$f"
        done
    done
}
cleanup() { stop_all; rm -rf "$T"; }
trap cleanup EXIT
trap 'exit 1' INT TERM
. tests/lib.sh
journals() {   # the hosts' journals into $D, where fail shows them
    for h in $HOSTS; do
        for j in "$T/hosts/$h/state/journal/"*.log; do [ -f "$j" ] && cp "$j" "$D/$h-$(basename "$j")"; done
    done
}

# Ports: free on 127.0.0.1-3 (peer, client: the same on every host, as in the guide) and three
# metrics ports on 127.0.0.1, all below the kernel's ephemeral range (as scripts/cluster does).
PORTS=$(python3 - <<'EOF'
import random, socket
try:
    eph = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
except (OSError, ValueError, IndexError):
    eph = 32768
lo = 20000 if eph > 21000 else 1024
def free(p, addrs):
    for a in addrs:
        s = socket.socket()
        try:
            s.bind((a, p))
        except OSError:
            return False
        finally:
            s.close()
    return True
three = ["127.0.0.1", "127.0.0.2", "127.0.0.3"]
got = []
for p in random.sample(range(lo, eph), min(eph - lo, 4000)):
    if free(p, three if len(got) < 2 else three[:1]):
        got.append(p)
    if len(got) == 5:
        print(" ".join(map(str, got)))
        break
EOF
) || fail "cannot pick ports"
set -- $PORTS
[ $# -eq 5 ] || fail "no 5 free ports: '$PORTS'"
PEER_PORT=$1; CLIENT_PORT=$2; shift 2
i=1
for h in $HOSTS; do
    R="$T/hosts/$h"
    mkdir -p "$R/root/etc" "$R/root/usr/local" "$R/home" "$R/state" "$R/outbox" "$R/inbox"
    # The host's environment: its $HOME, the stand-ins first on PATH, then where `make install`
    # puts the programs (as /usr/local/bin is on a Debian PATH) and the system's directories.
    # OUT: the build this test runs (make test may build elsewhere than ./bin, e.g. make asan).
    {
        echo "HOME=$R/home"
        echo "PATH=$ROOT/tests/deploy-shims:$R/root/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        echo "LANG=C.UTF-8"
        echo "OUT=$OUTDIR"
        echo "DEPLOY_ROOT=$R/root"
        echo "DEPLOY_STATE=$R/state"
        for v in CC ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS; do
            eval "val=\${$v:-}"; [ -n "$val" ] && echo "$v=$val"
        done
    } > "$R/env.sh"
    eval "METRICS_PORT=\$$i"
    cat > "$R/override.sh" <<EOF
ORG=$h
A_ADDR=127.0.0.1
B_ADDR=127.0.0.2
C_ADDR=127.0.0.3
SELF_ADDR=127.0.0.$i
PEER_PORT=$PEER_PORT
CLIENT_PORT=$CLIENT_PORT
METRICS_PORT=$METRICS_PORT
CLIENT_NETS="127.0.0.0/30"
MPCD_SRC=$ROOT
PREFIX=$R/root/usr/local
MPCD_ETC=$R/root/etc/mpcd
MPCD_STATE=$R/root/var/lib/mpcd/$h
NFT_CONF=$R/root/etc/nftables.conf
OUTBOX=$R/outbox
INBOX=$R/inbox
EOF
    i=$((i + 1))
done

# --- the runner can fail -------------------------------------------------------------------------
# tests/deploy-run on small guides of two hosts: a matching output passes, and a differing
# output, outputs that differ between hosts under `same`, a failing command and a test value
# the settings block does not set each fail, naming the guide's line.
S="$T/selftest"
for h in a b; do
    mkdir -p "$S/hosts/$h/home"
    printf 'HOME=%s\nPATH=/usr/bin:/bin\n' "$S/hosts/$h/home" > "$S/hosts/$h/env.sh"
    echo "NAME=$h" > "$S/hosts/$h/override.sh"
done
fence='```'
guide() {   # guide FILE OUTPUT-BLOCK-INFO EXPECTED [SETTINGS-LINE] [COMMAND]
    printf '%s\n' "${fence}sh on=each settings" "${4:-NAME=x}" "$fence" \
        "${fence}sh on=each" "${5:-echo \"hello \$NAME\"}" "$fence" "$fence$2" "$3" "$fence" > "$1"
}
runs() { python3 tests/deploy-run "$1" "$S/hosts" > "$S/out" 2>&1; }
guide "$S/g1" "text output" "hello ..."
runs "$S/g1" || fail "deploy-run refused a guide whose output matches: $(cat "$S/out")"
guide "$S/g2" "text output" "goodbye ..."
runs "$S/g2" && fail "deploy-run passed an output that differs"
grep -q "^deploy-run: FAIL: $S/g2:7 .*no line like 'goodbye \.\.\.'" "$S/out" || fail "differing output: $(cat "$S/out")"
guide "$S/g3" "text output same" "hello ..."
runs "$S/g3" && fail "deploy-run passed outputs that differ between hosts under 'same'"
grep -q "^deploy-run: FAIL: $S/g3:7: the output of .* differs between hosts" "$S/out" || fail "same: $(cat "$S/out")"
guide "$S/g4" "text output" "hello ..." "OTHER=x"
runs "$S/g4" && fail "deploy-run passed a settings block that does not set the test's NAME"
grep -q "^deploy-run: FAIL: $S/g4:1: the settings block does not set NAME" "$S/out" || fail "settings: $(cat "$S/out")"
guide "$S/g5" "text output" "hello ..." "NAME=x" "echo about to fail; false; echo hello"
runs "$S/g5" && fail "deploy-run passed a failing command"
grep -q "^deploy-run: FAIL: $S/g5:4: failed on host a (exit status 1): about to fail$" "$S/out" ||
    fail "failing command: $(cat "$S/out")"
ok "deploy-run fails on a differing output, on outputs that differ under 'same', on a failing command and on a test value the settings do not set"

# --- the guide, word for word ---------------------------------------------------------------------
start=$(now_ms)
python3 tests/deploy-run docs/deploy.md "$T/hosts" > "$T/run.out" 2>&1
rc=$?
grep -v '^\[.\] *$' "$T/run.out"   # what each host printed (the log of this test)
if [ $rc -ne 0 ]; then
    journals
    fail "$(tail -n 1 "$T/run.out")"
fi
blocks=$(sed -n 's/^deploy-run: \([0-9]*\) command blocks ran$/\1/p' "$T/run.out")
outputs=$(grep -c "^deploy-run: .*: output as shown$" "$T/run.out")
ok "docs/deploy.md followed as a, b and c: $blocks command blocks ran, $outputs outputs as shown, in $(( ($(now_ms) - start) / 1000 )) s"
journals

# --- what the guide should have done --------------------------------------------------------------
deps=$(sed -n 's/^DEPS_DEB *:= *//p' Makefile)
[ -n "$deps" ] || fail "no DEPS_DEB in the Makefile"
for h in $HOSTS; do
    for p in $deps; do
        grep -qx "$p" "$T/hosts/$h/state/apt-installed" 2>/dev/null || fail "host $h: the guide does not install $p (DEPS_DEB)"
    done
done
ok "the guide installs every package of DEPS_DEB on each host"

i=1
for h in $HOSTS; do
    n="$T/hosts/$h/state/nft-loaded"
    [ -f "$n" ] || fail "host $h loaded no firewall rules"
    eval "mp=\$$i"
    grep -q "elements = { 127.0.0.1, 127.0.0.2, 127.0.0.3 }" "$n" || fail "host $h: the parties' set: $(cat "$n")"
    grep -q "tcp dport $PEER_PORT ip saddr != @parties drop" "$n" || fail "host $h: no peer port rule: $(cat "$n")"
    grep -q "tcp dport $CLIENT_PORT ip saddr != @clients drop" "$n" || fail "host $h: no client port rule"
    grep -q "tcp dport $mp iifname != \"lo\" drop" "$n" || fail "host $h: no metrics port rule ($mp)"
    grep -q "accept$" "$n" && fail "host $h: a rule accepts: $(grep 'accept$' "$n")"
    grep -qF "include \"$T/hosts/$h/root/etc/mpcd/mpcd.nft\"" "$T/hosts/$h/root/etc/nftables.conf" ||
        fail "host $h: nftables.conf does not include the rules"
    grep -qx nftables "$T/hosts/$h/state/enabled" || fail "host $h: nftables not enabled"
    i=$((i + 1))
done
ok "firewall: the peer port ($PEER_PORT) for the parties only, the client port ($CLIENT_PORT) for the clients' networks, the metrics port local; loaded at boot"

# The rules b loaded, tried (tests/deploy-fwtry): in a network namespace of its own (unshare -rn:
# no root needed, this machine's firewall untouched), loaded by the real nft.
probe='table inet probe { chain c { type filter hook input priority filter; policy accept; }; }'
if [ -x /usr/sbin/nft ] && command -v ip > /dev/null &&
   echo "$probe" | unshare -rn /usr/sbin/nft -c -f - 2>/dev/null; then
    got=$(unshare -rn sh -c 'ip link set lo up && /usr/sbin/nft -f "$1" && python3 tests/deploy-fwtry "$2" "$3"' sh \
          "$T/hosts/b/state/nft-loaded" "$PEER_PORT" "$CLIENT_PORT" 2>&1)
    [ "$got" = "as intended" ] || fail "b's firewall rules, tried in a network namespace: $got"
    ok "b's firewall rules, loaded by nft in a network namespace: the peer port takes a party and drops a stranger, the client port takes a client and drops a stranger, both drop IPv6; other ports are left alone"
else
    echo "note: nft, ip, user namespaces or nf_tables are missing here: the firewall rules were read, not tried"
fi

for h in $HOSTS; do
    grep -qx "mpcd" "$T/hosts/$h/state/users" || fail "host $h: no mpcd user"
    grep -q "^mpcd:mpcd .*/keys/$h.secret$" "$T/hosts/$h/state/owners" || fail "host $h: the secret key was not given to mpcd"
    grep -q "^mpcd:mpcd .*/keys/$h.sign.secret$" "$T/hosts/$h/state/owners" || fail "host $h: the audit key was not given to mpcd"
    grep -q "^mpcd:mpcd .*/var/lib/mpcd/$h$" "$T/hosts/$h/state/owners" || fail "host $h: the state directory was not given to mpcd"
    grep -qx "mpcd@$h" "$T/hosts/$h/state/enabled" || fail "host $h: mpcd@$h not enabled"
    mode=$(stat -c %a "$T/hosts/$h/root/etc/mpcd/$h.ini")
    [ "$mode" = 640 ] || fail "host $h: $h.ini has mode $mode"
done
[ -f "$T/hosts/b/root/etc/mpcd/keys/b.secret" ] && fail "b's old secret key survived the rotation"
ok "the mpcd user owns each secret key and the state directory; the configurations are mode 640; b's old secret key is gone"

for h in $HOSTS; do
    j="$T/hosts/$h/state/journal/mpcd@$h.log"
    grep -q "reload refused" "$j" && fail "host $h: a reload was refused: $(grep "reload refused" "$j")"
    grep -E "job=[0-9a-f]{32} .*(failed|cancelled)" "$j" && fail "host $h: a job failed"
    n=$(grep -c "job=[0-9a-f]\{32\} done$" "$j")
    [ "$n" -ge 3 ] || fail "host $h: $n jobs done, not the guide's 3"
    grep -q "party $h listening: peers on tcp://127.0.0.$(( $(printf %d "'$h") - 96 )):$PEER_PORT, clients on tcp://127.0.0.$(( $(printf %d "'$h") - 96 )):$CLIENT_PORT" "$j" ||
        fail "host $h: the daemon did not listen where the guide said"
done
ok "the daemons listened on their hosts' addresses; the 3 jobs were done on each, none failed; no reload was refused"
