/* fuzz_circ_common.h — checks shared by the circuit-producing fuzz targets: a circuit that was
 * accepted must serialise, read back under the same limits to the same hash, and — when small —
 * evaluate in the plaintext evaluator on fixed inputs without fault; with local parts
 * (pushdown.h), from the declared inputs through the local parts too. */
#ifndef MPC_FUZZ_CIRC_COMMON_H
#define MPC_FUZZ_CIRC_COMMON_H

#include <stdlib.h>
#include <string.h>

#include "circuit.h"
#include "eval.h"
#include "format.h"
#include "program.h"
#include "pushdown.h"
#include "fuzz.h"

/* Small enough to evaluate on every fuzz iteration. */
static const mpc_circ_limits s_fuzz_small = {.max_gates = 4096, .max_vector = 1024, .max_total = 16384,
                                             .max_consts = 16384};

static void mpc_fuzz_circ_check(const mpc_circuit *c, const mpc_circ_limits *lim)
{
    char err[256];
    MPC_FUZZ_ASSERT(mpc_circ_validate(c, lim, err, sizeof err) == 0);
    uint8_t *buf = NULL;
    size_t len = 0;
    MPC_FUZZ_ASSERT(mpc_circ_write(c, &buf, &len) == 0);
    mpc_circuit *c2 = NULL;
    if (mpc_circ_read(buf, len, lim, &c2, err, sizeof err) != 0) {
        fprintf(stderr, "re-read refused: %s\n", err);
        MPC_FUZZ_ASSERT(!"a written circuit reads back");
    }
    uint8_t h1[MPC_HASH_BYTES], h2[MPC_HASH_BYTES];
    MPC_FUZZ_ASSERT(mpc_circ_hash(c, h1) == 0 && mpc_circ_hash(c2, h2) == 0);
    MPC_FUZZ_ASSERT(memcmp(h1, h2, sizeof h1) == 0);
    MPC_FUZZ_ASSERT((c->program == NULL) == (c2->program == NULL));
    if (c->program)   /* the program field survives a write and a read */
        MPC_FUZZ_ASSERT(c2->program->text_len == c->program->text_len &&
                        !memcmp(c2->program->text, c->program->text, c->program->text_len) &&
                        c2->program->n_params == c->program->n_params &&
                        c2->program->pushdown == c->program->pushdown);
    free(buf);
    mpc_circ_destroy(&c2);

    if (mpc_circ_validate(c, &s_fuzz_small, err, sizeof err) != 0) return;
    uint64_t **in = calloc(c->n_inputs ? c->n_inputs : 1, sizeof *in);
    MPC_FUZZ_ASSERT(in != NULL);
    for (uint32_t i = 0; i < c->n_inputs; i++) {
        in[i] = calloc((size_t)c->inputs[i].len, sizeof(uint64_t));
        MPC_FUZZ_ASSERT(in[i] != NULL);
        for (uint64_t j = 0; j < c->inputs[i].len; j++) in[i][j] = j * 0x9e3779b97f4a7c15ull;
    }
    mpc_eval_result res;
    memset(&res, 0, sizeof res);
    MPC_FUZZ_ASSERT(mpc_eval(c, (const uint64_t *const *)in, &res, err, sizeof err) == 0);
    MPC_FUZZ_ASSERT(res.n_outputs == c->n_outputs);
    mpc_eval_result_free(&res);
    for (uint32_t i = 0; i < c->n_inputs; i++) free(in[i]);
    free(in);

    /* The local parts: every declared input given, they run and feed the MPC part. */
    mpc_input *d = NULL;
    uint32_t nd = 0;
    if (!c->n_locals) return;
    for (uint32_t l = 0; l < c->n_locals; l++)
        if (mpc_circ_validate(c->locals[l], &s_fuzz_small, err, sizeof err) != 0) return;
    MPC_FUZZ_ASSERT(mpc_circ_declared_inputs(c, &d, &nd) == 0);
    uint64_t **dv = calloc(nd ? nd : 1, sizeof *dv);
    MPC_FUZZ_ASSERT(dv != NULL);
    for (uint32_t i = 0; i < nd; i++) {
        dv[i] = calloc((size_t)d[i].len ? (size_t)d[i].len : 1, sizeof(uint64_t));
        MPC_FUZZ_ASSERT(dv[i] != NULL);
    }
    memset(&res, 0, sizeof res);
    MPC_FUZZ_ASSERT(mpc_eval_declared(c, d, nd, (const uint64_t *const *)dv, &res, err, sizeof err) == 0);
    MPC_FUZZ_ASSERT(res.n_outputs == c->n_outputs);
    mpc_eval_result_free(&res);
    for (uint32_t i = 0; i < nd; i++) free(dv[i]);
    free(dv);
    free(d);
}

#endif
