/* fuzz_compile.c — the DSL compiler (circuits/lex.c, parse.c, compile.c, opt.c), i.e. what
 * `mpcc` and a daemon compiling submitted source do with hostile text.  Input: source text.
 * Every diagnostic must format; a compiled circuit must pass fuzz_circ_common.h's checks, and
 * compiled with owner-local pushdown (pushdown.h) too, giving the same outputs bit for bit. */
#include "compile.h"
#include "diag.h"
#include "fuzz_circ_common.h"

int mpc_fuzz_compile(const uint8_t *data, size_t size);

/* The pushed-down circuit pd computes what c computes: same outputs on the same inputs. */
static void s_same_as_pushdown(const mpc_circuit *c, const mpc_circuit *pd)
{
    char err[256];
    if (mpc_circ_validate(c, &s_fuzz_small, err, sizeof err) != 0) return;
    uint64_t **in = calloc(c->n_inputs ? c->n_inputs : 1, sizeof *in);
    MPC_FUZZ_ASSERT(in != NULL);
    for (uint32_t i = 0; i < c->n_inputs; i++) {
        in[i] = calloc((size_t)c->inputs[i].len, sizeof(uint64_t));
        MPC_FUZZ_ASSERT(in[i] != NULL);
        for (uint64_t j = 0; j < c->inputs[i].len; j++) in[i][j] = (j + 3 * i + 1) * 0x9e3779b97f4a7c15ull;
    }
    mpc_input *d = NULL;
    uint32_t nd = 0;
    MPC_FUZZ_ASSERT(mpc_circ_declared_inputs(pd, &d, &nd) == 0);
    MPC_FUZZ_ASSERT(nd == c->n_inputs);
    const uint64_t **dv = calloc(nd ? nd : 1, sizeof *dv);
    MPC_FUZZ_ASSERT(dv != NULL);
    for (uint32_t k = 0; k < nd; k++)
        for (uint32_t i = 0; i < c->n_inputs; i++)
            if (!strcmp(d[k].name, c->inputs[i].name)) dv[k] = in[i];
    mpc_eval_result a, b;
    MPC_FUZZ_ASSERT(mpc_eval(c, (const uint64_t *const *)in, &a, err, sizeof err) == 0);
    MPC_FUZZ_ASSERT(mpc_eval_declared(pd, d, nd, dv, &b, err, sizeof err) == 0);
    MPC_FUZZ_ASSERT(a.n_outputs == b.n_outputs && pd->n_outputs == c->n_outputs);
    for (uint32_t o = 0; o < c->n_outputs; o++)
        MPC_FUZZ_ASSERT(memcmp(a.outputs[o], b.outputs[o], (size_t)c->outputs[o].len * 8) == 0);
    mpc_eval_result_free(&a);
    mpc_eval_result_free(&b);
    for (uint32_t i = 0; i < c->n_inputs; i++) free(in[i]);
    free(in);
    free(dv);
    free(d);
}

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
        mpc_circuit *pd = NULL;
        char err[256];
        MPC_FUZZ_ASSERT(mpc_pushdown(c, &pd, err, sizeof err) == 0);
        mpc_fuzz_circ_check(pd, NULL);
        s_same_as_pushdown(c, pd);
        mpc_circ_destroy(&pd);
    } else {
        MPC_FUZZ_ASSERT(c == NULL && d.n_errors > 0);
    }
    mpc_circ_destroy(&c);
    mpc_diag_free(&d);
    free(src);
    return 0;
}

MPC_FUZZ_ENTRY(mpc_fuzz_compile)
