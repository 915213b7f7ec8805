/* fuzz_compile.c — the DSL compiler (circuits/lex.c, parse.c, compile.c, opt.c), i.e. what
 * `mpcc` and a daemon compiling submitted source do with hostile text.  Input: source text.
 * Every diagnostic must format; a compiled circuit must pass fuzz_circ_common.h's checks. */
#include "compile.h"
#include "diag.h"
#include "fuzz_circ_common.h"

int mpc_fuzz_compile(const uint8_t *data, size_t size);

int mpc_fuzz_compile(const uint8_t *data, size_t size)
{
    /* The compiler's contract takes a length, not a NUL-terminated string: give it an
     * exact-size copy so ASan sees any read past the end. */
    char *src = malloc(size ? size : 1);
    MPC_FUZZ_ASSERT(src != NULL);
    memcpy(src, data, size);
    mpc_circuit *c = NULL;
    mpc_diag d;
    int rc = mpc_compile(src, size, "fuzz.mpc", NULL, 0, &c, &d);
    char line[512];
    for (size_t i = 0; i < d.n_items; i++) {
        mpc_diag_format(&d, &d.items[i], line, sizeof line);
        MPC_FUZZ_ASSERT(memchr(d.items[i].msg, 0, sizeof d.items[i].msg) != NULL);
    }
    if (rc == 0) {
        MPC_FUZZ_ASSERT(c != NULL && d.n_errors == 0);
        mpc_fuzz_circ_check(c, NULL);
    } else {
        MPC_FUZZ_ASSERT(c == NULL && d.n_errors > 0);
    }
    mpc_circ_destroy(&c);
    mpc_diag_free(&d);
    free(src);
    return 0;
}

MPC_FUZZ_ENTRY(mpc_fuzz_compile)
