#!/bin/sh
# run-tests: alone (it runs make in this tree; scripts/run-tests)
# The installable client SDK (docs/client.md, "Installing the SDK"):
#  1. lib/libmpcclient.so carries the SONAME libmpcclient.so.1 and exports exactly the functions
#     its public headers declare (mpcclient.h and the headers it includes, parsed here);
#  2. `make install PREFIX=tmp`: a program compiled with `pkg-config --cflags --libs mpcclient`
#     runs without LD_LIBRARY_PATH and uses the installed library; the installed library's
#     exports match the installed headers;
#  3. the installed Python binding imports from the prefix's site directory, outside the source
#     tree, and loads the installed library without MPCCLIENT_LIB;
#  4. DESTDIR staging: the Python modules of python3's own prefix land on python3's module path,
#     and PREFIX=/usr gets no rpath.
# Prints `ok …` per check; exits non-zero at the first failure.
set -u
BIN=${MPC_BIN:-$(pwd)/bin}
OUT=$(cd "$BIN/.." && pwd)
ROOT=$(pwd)
T=$(mktemp -d /tmp/mpcd-sdk.XXXXXX)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
ok() { echo "ok $*"; }
CC=${CC:-cc}
PYTHON=${PYTHON:-python3}
SONAME=libmpcclient.so.1
# A sanitizer build (make asan sets SAN_BUILD): programs linked with the library need the
# sanitizer runtimes, and python3 needs them preloaded.
SANF=""
PRELOAD=""
if [ -n "${SAN_BUILD:-}" ]; then
    SANF="-fsanitize=address,undefined"
    PRELOAD="$($CC -print-file-name=libasan.so) $($CC -print-file-name=libubsan.so)"
fi

# The functions declared by a public header and the headers it includes with "…" (found next
# to it, as installed, or in the source tree's protocols/), one name a line, sorted.
declared() {
    "$PYTHON" - "$1" "$ROOT/protocols" <<'EOF'
import os, re, sys

def functions(path, seen):
    if path in seen:
        return set()
    seen.add(path)
    text = open(path).read()
    names = set()
    for inc in re.findall(r'^\s*#\s*include\s+"([^"]+)"', text, re.M):
        for d in (os.path.dirname(path), sys.argv[2]):
            if os.path.exists(os.path.join(d, inc)):
                names |= functions(os.path.join(d, inc), seen)
                break
        else:
            sys.exit("%s: included header %s not found" % (path, inc))
    text = re.sub(r'/\*.*?\*/', ' ', text, flags=re.S)
    text = re.sub(r'//[^\n]*', ' ', text)
    text = re.sub(r'\\\n', ' ', text)
    text = re.sub(r'^\s*#[^\n]*', ' ', text, flags=re.M)
    text = re.sub(r'extern\s+"C"\s*\{', ' ', text)
    text = re.sub(r'__attribute__\s*\(\((?:[^()]|\([^()]*\))*\)\)', ' ', text)
    while True:                                # struct and enum bodies, innermost first
        stripped = re.sub(r'\{[^{}]*\}', ' ', text)
        if stripped == text:
            break
        text = stripped
    for stmt in text.replace('}', ' ').split(';'):
        stmt = stmt.strip()
        m = re.search(r'(\w+)\s*\(', stmt)
        if stmt and not stmt.startswith('typedef') and m:
            names.add(m.group(1))
    return names

names = functions(sys.argv[1], set())
if len(names) < 10:
    sys.exit("only %d functions found in %s: the parser is broken" % (len(names), sys.argv[1]))
print("\n".join(sorted(names)))
EOF
}
exported() { nm -D --defined-only "$1" | awk '{print $NF}' | sort; }
soname() { readelf -d "$1" | sed -n 's/.*(SONAME).*\[\(.*\)\].*/\1/p'; }

# 1. The build tree's library.
L="$OUT/lib/libmpcclient.so"
[ -f "$L" ] || fail "$L not built"
[ "$(soname "$L")" = "$SONAME" ] || fail "SONAME of $L is '$(soname "$L")', not $SONAME"
[ "$(readlink -f "$OUT/lib/$SONAME")" = "$(readlink -f "$L")" ] || fail "$OUT/lib/$SONAME is not the library"
declared "$ROOT/client-sdk/mpcclient.h" > "$T/declared" || fail "cannot parse client-sdk/mpcclient.h"
exported "$L" > "$T/exported"
diff "$T/declared" "$T/exported" > "$T/diff" ||
    fail "exports of $L differ from the header's functions (< declared only, > exported only):
$(cat "$T/diff")"
grep -qx mpc_strerror "$T/exported" && grep -qx mpc_client_open "$T/exported" ||
    fail "the declared set lacks mpc_strerror or mpc_client_open"
ok "$L: SONAME $SONAME, exports exactly the $(wc -l < "$T/declared") functions of mpcclient.h and mpc_err.h"

# 2. make install to a temporary prefix; a program built with pkg-config runs from it.
P="$T/prefix"
make -C "$ROOT" --no-print-directory OUT="$OUT" PREFIX="$P" install > "$T/install.log" 2>&1 ||
    { cat "$T/install.log"; fail "make install PREFIX=$P"; }
for f in lib/libmpcclient.so lib/$SONAME lib/libmpcclient.a include/mpcclient.h include/mpc_err.h \
         lib/pkgconfig/mpcclient.pc bin/mpcd bin/mpc; do
    [ -e "$P/$f" ] || fail "make install did not install $f"
done
[ "$(soname "$P/lib/libmpcclient.so")" = "$SONAME" ] || fail "installed library has no SONAME $SONAME"
declared "$P/include/mpcclient.h" > "$T/declared.inst" || fail "cannot parse the installed mpcclient.h"
exported "$P/lib/libmpcclient.so" > "$T/exported.inst"
cmp -s "$T/declared.inst" "$T/exported.inst" || fail "installed library's exports differ from the installed headers"
mkdir -p "$T/app"
cat > "$T/app/app.c" <<'EOF'
#include <mpcclient.h>
#include <stdio.h>
#include <string.h>

int main(void)
{
    mpc_client *c = (mpc_client *)1;
    char err[512] = "";
    int r = mpc_client_open(&c, "/nonexistent/client.ini", err, sizeof err);
    if (r != MPC_ERR_CONFIG || c != NULL || strstr(err, "/nonexistent/client.ini") == NULL) {
        fprintf(stderr, "mpc_client_open gave %d '%s'\n", r, err);
        return 1;
    }
    printf("%s|%s\n", mpc_strerror(MPC_ERR_DENIED), MPCCLIENT_VERSION);
    return 0;
}
EOF
flags=$(PKG_CONFIG_PATH="$P/lib/pkgconfig" pkg-config --cflags --libs mpcclient) ||
    fail "pkg-config does not find the installed mpcclient.pc"
# shellcheck disable=SC2086
(cd "$T/app" && $CC -std=c11 -Wall -Wextra -Werror $SANF -o app app.c $flags) > "$T/cc.log" 2>&1 ||
    { cat "$T/cc.log"; fail "cannot build a program with: cc app.c $flags"; }
out=$(cd "$T/app" && env -u LD_LIBRARY_PATH ./app 2>&1) || fail "the program does not run without LD_LIBRARY_PATH: $out"
[ "$out" = "permission denied|0.1.0" ] || fail "the program printed '$out'"
used=$(cd "$T/app" && env -u LD_LIBRARY_PATH ldd ./app | sed -n "s/.*$SONAME => \([^ ]*\).*/\1/p")
[ "$used" = "$P/lib/$SONAME" ] || fail "the program loads '$used', not $P/lib/$SONAME"
ok "make install PREFIX=…: cc app.c \$(pkg-config --cflags --libs mpcclient) runs without LD_LIBRARY_PATH, on $P/lib/$SONAME"

# 3. The installed Python binding, outside the source tree, without MPCCLIENT_LIB.
SITE=$("$PYTHON" -E -c 'import sys, sysconfig; p = sys.argv[1]
print(sysconfig.get_path("purelib", "posix_prefix", vars={"base": p, "platbase": p}))' "$P")
[ -f "$SITE/mpcclient.py" ] && [ -f "$SITE/mpc_errors.py" ] || fail "the Python modules are not in $SITE"
cat > "$T/app/py.py" <<'EOF'
import os, sys
import mpcclient
site, lib, soname = sys.argv[1:]
assert os.path.dirname(mpcclient.__file__) == site, mpcclient.__file__
assert mpcclient._SONAME == soname, (mpcclient._SONAME, soname)
L = mpcclient.load_library()
assert L._name == lib, L._name
assert L.mpc_strerror(-10) == b"permission denied"
try:
    mpcclient.Client("/nonexistent/client.ini")
    sys.exit("Client() on a missing file did not fail")
except mpcclient.MPCError as e:
    assert e.name == "CONFIG" and "/nonexistent/client.ini" in e.message, (e.name, e.message)
print("python ok")
EOF
if [ -n "$PRELOAD" ]; then set -- LD_PRELOAD="$PRELOAD" ASAN_OPTIONS=detect_leaks=0; else set --; fi
out=$(cd "$T/app" && env -u MPCCLIENT_LIB -u MPC_BIN -u LD_LIBRARY_PATH PYTHONPATH="$SITE" "$@" \
      "$PYTHON" py.py "$SITE" "$P/lib/$SONAME" "$SONAME" 2>&1)
[ "$out" = "python ok" ] || fail "the installed Python binding: $out"
ok "installed mpcclient.py (PYTHONPATH=$SITE) loads $P/lib/$SONAME without MPCCLIENT_LIB"

# 4. DESTDIR staging.  python3's own prefix: the modules land on its module path.
SP=$("$PYTHON" -E -c 'import sys; print(sys.prefix)')
S="$T/stage"
make -C "$ROOT" --no-print-directory OUT="$OUT" DESTDIR="$S" PREFIX="$SP" install > "$T/stage.log" 2>&1 ||
    { cat "$T/stage.log"; fail "make install DESTDIR=$S PREFIX=$SP"; }
staged=$(cd "$S" && find . -name mpcclient.py | sed 's|^\.||')
[ -n "$staged" ] || fail "DESTDIR install put no mpcclient.py under $S"
"$PYTHON" -E -c 'import os, sys; d = os.path.dirname(sys.argv[1]); sys.exit(0 if d in sys.path else "%s is not on %s" % (d, sys.path))' "$staged" ||
    fail "python3 (prefix $SP) would not find $staged"
grep -q "^_INSTALLED_LIBRARY = \"$SP/lib/$SONAME\"\$" "$S$staged" || fail "staged mpcclient.py does not name $SP/lib/$SONAME"
grep -q "^prefix=$SP\$" "$S$SP/lib/pkgconfig/mpcclient.pc" || fail "staged mpcclient.pc does not say prefix=$SP"
[ "$(readlink "$S$SP/lib/libmpcclient.so")" = "$SONAME" ] || fail "staged libmpcclient.so is not a link to $SONAME"
make -C "$ROOT" --no-print-directory OUT="$OUT" DESTDIR="$S/usr-stage" PREFIX=/usr install > "$T/usr.log" 2>&1 ||
    { cat "$T/usr.log"; fail "make install DESTDIR=… PREFIX=/usr"; }
grep -q '^Libs: -L${libdir} *-lmpcclient$' "$S/usr-stage/usr/lib/pkgconfig/mpcclient.pc" ||
    fail "PREFIX=/usr: Libs is not plain: $(grep '^Libs:' "$S/usr-stage/usr/lib/pkgconfig/mpcclient.pc")"
grep -q '^Libs: .*-Wl,-rpath,${libdir}' "$P/lib/pkgconfig/mpcclient.pc" || fail "PREFIX=$P: no rpath in Libs"
ok "DESTDIR installs: the Python modules of prefix $SP on python3's path ($staged); rpath for $P only, not /usr"
