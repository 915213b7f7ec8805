/* fuzz_circ.c — the circuit reader (circuits/format.c, mpc_circ_read), i.e. what a daemon does
 * with the `.circ` bytes of every SUBMIT.  Input: the bytes.  Read under a daemon's kind of
 * limits; anything accepted must pass the checks of fuzz_circ_common.h. */
#include "fuzz_circ_common.h"

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
    mpc_circ_destroy(&c);
    return 0;
}

MPC_FUZZ_ENTRY(mpc_fuzz_circ)
