/* mkcirc.c — writes a circuit with one join record, built by hand (tests/daemon_join.test.sh
 * compiles and runs it; the language's join(...) replaces it once the compiler has it).
 *   mkcirc OUT.circ NA NB NPARTIES
 * Parties a, b (and c when NPARTIES = 3).  Inputs labs.glucose (a, int[NA]), claims.cost
 * (b, int[NB]); the join j of labs and claims on patient_id gives j-join.ind, j-join.glucose
 * and j-join.cost (b, int[NB]).  Outputs to every party: n = sum(j-join.ind), sg =
 * dot(ind, glucose) (the intersection-sum of A's column), sc = dot(ind, cost). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format.h"
#include "joindecl.h"

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: mkcirc OUT.circ NA NB NPARTIES\n");
        return 2;
    }
    uint64_t na = strtoull(argv[2], NULL, 10), nb = strtoull(argv[3], NULL, 10);
    int np = atoi(argv[4]);
    mpc_circuit *c = mpc_circ_new();
    if (!c || np < 2 || np > 3) return 2;
    mpc_circ_add_party(c, "a");
    mpc_circ_add_party(c, "b");
    if (np == 3) mpc_circ_add_party(c, "c");
    mpc_circ_add_input(c, "labs.glucose", 0, MPC_T_INT, na, 1, 1);
    mpc_circ_add_input(c, "claims.cost", 1, MPC_T_INT, nb, 2, 1);
    uint32_t ind = mpc_circ_add_input(c, "j-join.ind", 1, MPC_T_INT, nb, 3, 1);
    uint32_t g = mpc_circ_add_input(c, "j-join.glucose", 1, MPC_T_INT, nb, 3, 1);
    uint32_t cost = mpc_circ_add_input(c, "j-join.cost", 1, MPC_T_INT, nb, 3, 1);
    uint32_t all = (1u << np) - 1;
    uint32_t n = mpc_circ_add_gate(c, MPC_G_SUM, MPC_T_INT, 1, ind, MPC_NO_WIRE, MPC_NO_WIRE, 0, 0, 4, 1);
    uint32_t sg = mpc_circ_add_gate(c, MPC_G_DOT, MPC_T_INT, 1, ind, g, MPC_NO_WIRE, 0, 0, 5, 1);
    uint32_t sc = mpc_circ_add_gate(c, MPC_G_DOT, MPC_T_INT, 1, ind, cost, MPC_NO_WIRE, 0, 0, 6, 1);
    mpc_circ_add_output(c, "n", n, all, 4, 1);
    mpc_circ_add_output(c, "sg", sg, all, 5, 1);
    mpc_circ_add_output(c, "sc", sc, all, 6, 1);
    mpc_join_decl d;
    memset(&d, 0, sizeof d);
    strcpy(d.name, "j");
    d.party[0] = 0;
    d.party[1] = 1;
    strcpy(d.table[0], "labs");
    strcpy(d.table[1], "claims");
    strcpy(d.key[0], "patient_id");
    strcpy(d.key[1], "patient_id");
    d.rows[0] = na;
    d.rows[1] = nb;
    d.n_cols[0] = d.n_cols[1] = 1;
    d.col[0][0] = 0;
    d.col[1][0] = 1;
    d.out[0] = 2;
    d.out[1] = 3;
    d.out[2] = 4;
    d.line = 3;
    d.col_no = 9;
    char err[256];
    if (mpc_circ_add_join(c, &d) != 0 || mpc_circ_finish(c, err, sizeof err) != 0 ||
        mpc_circ_save(c, argv[1], err, sizeof err) != 0) {
        fprintf(stderr, "mkcirc: %s\n", err);
        return 1;
    }
    mpc_circ_destroy(&c);
    return 0;
}
