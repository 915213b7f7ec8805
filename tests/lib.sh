# tests/lib.sh — what the daemon tests (tests/*.test.sh, run from the repository root) share;
# each sources it after setting D, its cluster directory.
#   fail REASON   prints "FAIL: REASON" (scripts/run-tests shows that line first), then the last
#                 lines of every log in $D and of the files FAIL_EXTRA names (paths or globs,
#                 set by the script), and exits 1
#   ok TEXT       prints "ok TEXT" (run-tests counts these lines)
#   now_ms        prints the wall clock in milliseconds
#   pyclient ARGS python3 ARGS with the Python binding (client-sdk/python) on the library of
#                 this build ($MPC_BIN/../lib); a sanitizer build (make asan sets SAN_BUILD)
#                 needs its runtimes loaded first, and Python's own allocations are not ours
#                 to leak-check
#   contribute TOKEN_LINE VALUES [ENV...]
#                 one contribution to job $JOB of program $PROG through `mpc contribute` with
#                 client configuration $CC: the token on line TOKEN_LINE of $D/tokens, VALUES
#                 the CSV of input g; ENV (NAME=VALUE) set for the client; stderr in $D/err
fail() {
    echo "FAIL: $*"
    for f in "$D"/*.log ${FAIL_EXTRA:-}; do
        [ -f "$f" ] && { echo "--- $f"; grep -v DEBUG "$f" | tail -n 15; }
    done
    exit 1
}
ok() { echo "ok $*"; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }
pyclient() {
    if [ -n "${SAN_BUILD:-}" ]; then
        LD_PRELOAD="$(${CC:-cc} -print-file-name=libasan.so) $(${CC:-cc} -print-file-name=libubsan.so)" \
            ASAN_OPTIONS=detect_leaks=0 MPCCLIENT_LIB="$MPC_BIN/../lib/libmpcclient.so" PYTHONPATH=client-sdk/python \
            python3 "$@"
    else
        MPCCLIENT_LIB="$MPC_BIN/../lib/libmpcclient.so" PYTHONPATH=client-sdk/python python3 "$@"
    fi
}
contribute() {
    sed -n "$1p" "$D/tokens" > "$D/token"
    echo "$2" > "$D/one.csv"
    shift 2
    env "$@" "$BIN/mpc" contribute "$PROG" --job "$JOB" --config "$CC" --token @"$D/token" \
        --input g=@"$D/one.csv" 2> "$D/err"
}
