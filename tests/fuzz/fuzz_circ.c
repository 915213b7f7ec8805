/* fuzz_circ.c — the circuit reader (circuits/format.c, mpc_circ_read), i.e. what a daemon does
 * with the `.circ` bytes of every SUBMIT.  Input: the bytes.  Read under a daemon's kind of
 * limits; anything accepted must pass the checks of fuzz_circ_common.h, and a program it carries
 * (format 4) is parsed as a daemon would before admitting it by program. */
#include "fuzz_circ_common.h"
#include "program.h"

int mpc_fuzz_circ(const uint8_t *data, size_t size);

int mpc_fuzz_circ(const uint8_t *data, size_t size)
{
    static const mpc_circ_limits lim = {.max_gates = 1u << 16, .max_vector = 1u << 20,
                                        .max_total = 1u << 22, .max_consts = 1u << 20};
    mpc_circuit *c = NULL;
    char err[256];
    err[0] = 0;
    if (mpc_circ_read(data, size, &lim, &c, err, sizeof err) != 0) {
        MPC_FUZZ_ASSERT(c == NULL && err[0] != 0);
        return 0;
    }
    mpc_fuzz_circ_check(c, &lim);
    if (c->program) {
        /* What a daemon does next with a circuit it does not list by hash (mpcd/approve.c):
         * parse the carried program text and compare its params with the stated ones.  (Not
         * the recompilation: its cost is bounded by what an operator approved, not by the
         * bytes, so it is no decoder to fuzz.) */
        mpc_program_canon pc;
        char e2[400];
        e2[0] = 0;
        if (mpc_program_identify(c->program, &pc, e2, sizeof e2) != 0) MPC_FUZZ_ASSERT(e2[0] != 0);
        else MPC_FUZZ_ASSERT(pc.n_params == c->program->n_params && pc.text_len > 0);
        mpc_program_canon_free(&pc);
    }
    mpc_circ_destroy(&c);
    return 0;
}

MPC_FUZZ_ENTRY(mpc_fuzz_circ)
