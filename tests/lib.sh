# tests/lib.sh — what the daemon tests (tests/*.test.sh, run from the repository root) share;
# each sources it after setting D, its cluster directory.
#   fail REASON   prints "FAIL: REASON" (scripts/run-tests shows that line first), then the last
#                 lines of every log in $D and of the files FAIL_EXTRA names (paths or globs,
#                 set by the script), and exits 1
#   ok TEXT       prints "ok TEXT" (run-tests counts these lines)
#   now_ms        prints the wall clock in milliseconds
fail() {
    echo "FAIL: $*"
    for f in "$D"/*.log ${FAIL_EXTRA:-}; do
        [ -f "$f" ] && { echo "--- $f"; grep -v DEBUG "$f" | tail -n 15; }
    done
    exit 1
}
ok() { echo "ok $*"; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }
