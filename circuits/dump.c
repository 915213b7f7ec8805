/* dump.c — the readable circuit listing of mpcc --dump (dump.h).  Tolerates circuits that
 * have not been validated: out-of-range fields print as '?' instead of being followed. */
#include "dump.h"

#include <string.h>

#include "value.h"

#define S_CONST_SHOWN 4     /* values shown inline before a constant is abbreviated */

static const char *s_kind(uint8_t k)
{
    return k < MPC_G__COUNT ? mpc_gate_infos[k].name : "?";
}

static const char *s_type(uint8_t t)
{
    return t < MPC_T__COUNT ? mpc_type_names[t] : "?";
}

static const char *s_party(const mpc_circuit *c, uint32_t p)
{
    return p < c->n_parties && p < MPC_MAX_PARTIES ? c->party_names[p] : "?";
}

static void s_recipients(const mpc_circuit *c, uint32_t mask, FILE *f)
{
    int first = 1;
    for (uint32_t p = 0; p < 32; p++) {
        if (!(mask & (1u << p))) continue;
        fprintf(f, "%s%s", first ? "" : ", ", s_party(c, p));
        first = 0;
    }
    if (first) fputs("nobody", f);
}

static void s_pos(uint32_t line, uint32_t col, FILE *f)
{
    if (line) fprintf(f, "  @%u:%u", (unsigned)line, (unsigned)col);
}

void mpc_circ_dump(const mpc_circuit *c, FILE *f)
{
    char vb[64], tb[32];
    fprintf(f, "circuit %.*s: %u gates, %u rounds, %u fractional bits, %llu constants\n",
            (int)sizeof c->source, c->source[0] ? c->source : "(unnamed)", (unsigned)c->n_gates,
            (unsigned)c->rounds, (unsigned)c->frac_bits, (unsigned long long)c->n_consts);
    fputs("parties:", f);
    for (uint32_t i = 0; i < c->n_parties && i < MPC_MAX_PARTIES; i++)
        fprintf(f, " %.*s", MPC_NAME_MAX, c->party_names[i]);
    fputc('\n', f);
    for (uint32_t i = 0; i < c->n_inputs; i++) {
        const mpc_input *in = &c->inputs[i];
        fprintf(f, "input  %.*s: %s[%llu] from %.*s -> w%u", MPC_NAME_MAX, in->name, s_type(in->type),
                (unsigned long long)in->len, MPC_NAME_MAX, s_party(c, in->party), (unsigned)in->wire);
        s_pos(in->line, in->col, f);
        fputc('\n', f);
    }
    for (uint32_t i = 0; i < c->n_outputs; i++) {
        const mpc_output *o = &c->outputs[i];
        fprintf(f, "output %.*s: %s[%llu] <- w%u to ", MPC_NAME_MAX, o->name, s_type(o->type),
                (unsigned long long)o->len, (unsigned)o->wire);
        s_recipients(c, o->recipients, f);
        s_pos(o->line, o->col, f);
        fputc('\n', f);
    }
    for (uint32_t i = 0; i < c->n_gates; i++) {
        const mpc_gate *g = &c->gates[i];
        snprintf(tb, sizeof tb, "%s[%llu]", s_type(g->type), (unsigned long long)g->len);
        fprintf(f, "w%-6u L%-3u %-8s %-12s", (unsigned)i, (unsigned)g->layer, s_kind(g->kind), tb);
        int nop = g->kind < MPC_G__COUNT ? mpc_gate_infos[g->kind].operands : 0;
        for (int k = 0; k < nop; k++) fprintf(f, "%sw%u", k ? ", " : " ", (unsigned)g->in[k]);
        switch (g->kind) {
        case MPC_G_INPUT:
            if (g->aux[0] < c->n_inputs) fprintf(f, " %.*s", MPC_NAME_MAX, c->inputs[g->aux[0]].name);
            break;
        case MPC_G_OUTPUT:
            if (g->aux[0] < c->n_outputs) fprintf(f, " -> %.*s", MPC_NAME_MAX, c->outputs[g->aux[0]].name);
            break;
        case MPC_G_CONST:
            if (g->aux[0] > c->n_consts || g->len > c->n_consts - g->aux[0]) {
                fputs(" = ?", f);
                break;
            }
            fputs(" =", f);
            for (uint64_t k = 0; k < g->len && k < S_CONST_SHOWN; k++) {
                if (mpc_value_format((mpc_type)g->type, c->frac_bits, c->consts[g->aux[0] + k], vb, sizeof vb) < 0)
                    snprintf(vb, sizeof vb, "0x%llx", (unsigned long long)c->consts[g->aux[0] + k]);
                fprintf(f, "%s %s", k ? "," : "", vb);
            }
            if (g->len > S_CONST_SHOWN) fprintf(f, ", ... (%llu values)", (unsigned long long)g->len);
            break;
        case MPC_G_TRUNC:
            fprintf(f, "  m=%llu l=%llu", (unsigned long long)g->aux[0], (unsigned long long)g->aux[1]);
            break;
        case MPC_G_SLICE:
            fprintf(f, "  start=%llu stride=%llu", (unsigned long long)g->aux[0], (unsigned long long)g->aux[1]);
            break;
        default:
            if (g->aux[0] || g->aux[1])
                fprintf(f, "  aux=%llu,%llu", (unsigned long long)g->aux[0], (unsigned long long)g->aux[1]);
            break;
        }
        s_pos(g->line, g->col, f);
        fputc('\n', f);
    }
}
