/* proc.h — test helper: running the project's programs (mpcc, mpc, mpcd) and shell commands
 * from a Check test, and one scratch directory per test process.  Tests run from the
 * repository root (scripts/run-tests does), so relative paths like examples/x.mpc work. */
#ifndef MPC_TEST_PROC_H
#define MPC_TEST_PROC_H

#include <stddef.h>

typedef struct {
    int  status;              /* exit status; 128 when the program did not exit normally */
    char out[16384], err[16384];
} tp_cmd;

/* The directory of the built programs: $MPC_BIN (scripts/run-tests sets it), else "bin". */
const char *tp_bin(void);

/* This process's scratch directory (/tmp/mpc-test-XXXXXX), made on first use; Check runs
 * each test in its own process, so each test gets its own.  tp_scratch_remove deletes it
 * (the next tp_scratch makes a new one); it is removed anyway when the process exits. */
const char *tp_scratch(void);
void        tp_scratch_remove(void);

/* Runs "$MPC_BIN/PROG ARGS" through the shell (ARGS is a printf format, quoted by the caller
 * as the shell needs); stdout and stderr are kept apart in r (truncated to fit).  Fails the
 * test if the program is not built. */
void tp_run(tp_cmd *r, const char *prog, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Runs a shell command line (a printf format) and returns its exit status (-1 if it did not
 * exit); its stdout (add 2>&1 for stderr) goes to out, truncated to cap - 1 bytes. */
int tp_sh(char *out, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
