/* mpcc_main.c — the mpc compiler's command line: compile a program to a .circ file, show
 * its statistics or a listing, or evaluate it in plaintext on given inputs.  Also accepts a
 * compiled .circ for --stats, --dump and --eval. */
#include <errno.h>
#include <math.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "circuit.h"
#include "compile.h"
#include "contrib.h"
#include "diag.h"
#include "dp.h"
#include "dump.h"
#include "eval.h"
#include "format.h"
#include "joindecl.h"
#include "program.h"
#include "pushdown.h"
#include "value.h"
#include "table.h"

#define MPCC_VERSION "0.1.0"
#define MPCC_MAX_SOURCE (16u << 20)

static const char s_usage[] =
    "usage: mpcc [options] PROGRAM.mpc | CIRCUIT.circ\n"
    "\n"
    "Compiles an mpc program (see circuits/LANGUAGE.md) to a circuit file, or inspects or\n"
    "evaluates it.  With no action option, writes PROGRAM.circ beside the source.\n"
    "\n"
    "options:\n"
    "  -o FILE              write the circuit to FILE\n"
    "  -D NAME=VALUE        override `param NAME` (repeatable)\n"
    "  --stats              print gates, triples, comparisons, rounds, hash, truncations,\n"
    "                       ..., squares (square pairs: x * x, dot(x, x)), then the\n"
    "                       inputs and outputs\n"
    "  --dump               print a readable listing of the circuit\n"
    "  --eval               evaluate in plaintext with the engine's exact semantics\n"
    "  --input NAME=VALUES  an input for --eval: values separated by commas or blanks,\n"
    "                       or @FILE to read them from a file (repeatable); for a table\n"
    "                       input, TABLE=@FILE.csv: a CSV file with a header naming\n"
    "                       the columns (its row count sets a `param N` left without value)\n"
    "  --sep SEP            the CSV separator: , (default) ; or tab\n"
    "  --missing=zero       an empty CSV cell reads as 0 (default: an error, unless the\n"
    "                       column declares a default)\n"
    "  --json               machine-readable output for --stats and --eval\n"
    "  --seed HEX           with --eval: draw the noise of dp_* outputs from this 64-hex-\n"
    "                       digit seed (reproducible); default: fresh randomness, so\n"
    "                       such outputs differ from run to run\n"
    "  --no-pushdown        keep each party's owner-local computation under MPC\n"
    "                       (default: its owner computes it in the clear; see\n"
    "                       circuits/LANGUAGE.md, \"Owner-local pushdown\")\n"
    "  --strict             treat warnings as errors (exit 1); for a .circ, refuse one\n"
    "                       whose compiler recorded overflow warnings\n"
    "  --approve            print the daemon's `[policy] allow` line that approves this\n"
    "                       program (source only) whatever its param values within the\n"
    "                       constraints given with -D: -D NAME=LO..HI (integers) or\n"
    "                       -D NAME=VALUE; every param must be constrained.  Prints\n"
    "                       allow = PROGRAM-HASH NAME=LO..HI ... parties=a,b,c\n"
    "                       (docs/daemon.md, \"Approving a program\")\n"
    "  --parties a,b,c      with --approve: the configured party each program party (in\n"
    "                       declaration order) may be bound to (default: the program's\n"
    "                       own party names)\n"
    "  --help               this text\n"
    "  --version            the version\n";

typedef struct {
    const char *path;
    const char *out_path;
    mpc_define *defs;
    size_t      n_defs;
    const char **inputs;   /* "NAME=VALUES" */
    size_t      n_inputs;
    int         stats, dump, eval, json, strict, no_pushdown, approve;
    int         seeded;
    uint8_t     seed[MPC_EVAL_SEED_BYTES];
    const char *parties;   /* --parties */
    mpc_csv_opts csv;
    const char *src;       /* the source, for table defaults (NULL for a .circ) */
    size_t      src_len;
} s_opts;

static int s_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int s_err(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("mpcc: error: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return 1;
}

static char *s_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap + 1);
    while (buf) {
        if (n == cap) {
            if (cap >= MPCC_MAX_SOURCE) {
                free(buf);
                buf = NULL;
                errno = EFBIG;
                break;
            }
            cap *= 2;
            char *nb = realloc(buf, cap + 1);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (r == 0) break;
    }
    if (buf && ferror(f)) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf) {
        buf[n] = 0;
        *len = n;
    }
    return buf;
}

static int s_ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* A JSON string (names and messages are short, printable or escaped). */
static void s_json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') fprintf(f, "\\%c", c);
        else if (c < 0x20) fprintf(f, "\\u%04x", c);
        else fputc(c, f);
    }
    fputc('"', f);
}

static void s_print_recipients(FILE *f, const mpc_circuit *c, uint32_t rec, int json)
{
    int first = 1;
    for (uint32_t p = 0; p < c->n_parties; p++) {
        if (!(rec & (1u << p))) continue;
        if (!first) fputs(", ", f);
        if (json) s_json_str(f, c->party_names[p]);
        else fputs(c->party_names[p], f);
        first = 0;
    }
}

/* The estimated cost of join d (docs/join.md, "Costs, measured"): X25519 scalar
 * multiplications (each key blinded by its owner, then by the other side), hashes to the
 * group and curve checks; the two switching networks that move A's columns to B's rows. */
typedef struct {
    uint64_t scalarmults, hashes, checks, switches, bytes, round_trips;
} s_join_cost;

static void s_join_cost_of(const mpc_join_decl *d, s_join_cost *k)
{
    uint64_t keys = d->rows[0] + d->rows[1], n = d->rows[0] > d->rows[1] ? d->rows[0] : d->rows[1], N = 1;
    unsigned lg = 0;
    while (N < n) N <<= 1, lg++;
    k->scalarmults = 2 * keys;
    k->hashes = keys;
    k->checks = keys;
    k->switches = 2 * (lg ? (2 * (uint64_t)lg - 1) * N / 2 : 0);
    k->bytes = 32 * (keys + d->rows[1]) + k->switches * (16 + 16 * (uint64_t)d->n_cols[0]);
    k->round_trips = 2 + 1 + 2;
}

static void s_join_stats(const mpc_circuit *c, int json)
{
    for (uint32_t j = 0; j < c->n_joins; j++) {
        const mpc_join_decl *d = &c->joins[j];
        s_join_cost k;
        s_join_cost_of(d, &k);
        if (!json) {
            printf("join: %s = join(%s.%s from %s [%llu rows], %s.%s from %s [%llu rows]), payload", d->name,
                   d->table[0], d->key[0], c->party_names[d->party[0]], (unsigned long long)d->rows[0], d->table[1],
                   d->key[1], c->party_names[d->party[1]], (unsigned long long)d->rows[1]);
            for (int sd = 0; sd < 2; sd++)
                for (uint32_t m = 0; m < d->n_cols[sd]; m++) printf(" %s", c->inputs[d->col[sd][m]].name);
            printf(", %llu rows out\n", (unsigned long long)d->rows[1]);
            printf("join %s leaks: the intersection size to %s\n", d->name, c->party_names[d->party[0]]);
            printf("join %s cost (estimate, docs/join.md): %llu scalar multiplications, %llu hashes to the group, "
                   "%llu curve checks, %llu switches (one OT each), %llu bytes, %llu round trips\n", d->name,
                   (unsigned long long)k.scalarmults, (unsigned long long)k.hashes, (unsigned long long)k.checks,
                   (unsigned long long)k.switches, (unsigned long long)k.bytes, (unsigned long long)k.round_trips);
            continue;
        }
        printf("%s{\"name\": ", j ? ", " : "");
        s_json_str(stdout, d->name);
        for (int sd = 0; sd < 2; sd++) {
            printf(", \"%s\": {\"table\": ", sd ? "b" : "a");
            s_json_str(stdout, d->table[sd]);
            printf(", \"key\": ");
            s_json_str(stdout, d->key[sd]);
            printf(", \"party\": ");
            s_json_str(stdout, c->party_names[d->party[sd]]);
            printf(", \"rows\": %llu, \"payload\": [", (unsigned long long)d->rows[sd]);
            for (uint32_t m = 0; m < d->n_cols[sd]; m++) {
                printf("%s", m ? ", " : "");
                s_json_str(stdout, c->inputs[d->col[sd][m]].name);
            }
            printf("]}");
        }
        printf(", \"leaks\": {\"intersection_size_to\": ");
        s_json_str(stdout, c->party_names[d->party[0]]);
        printf("}, \"cost\": {\"scalarmults\": %llu, \"hashes\": %llu, \"curve_checks\": %llu, \"switches\": %llu, "
               "\"bytes\": %llu, \"round_trips\": %llu}}", (unsigned long long)k.scalarmults,
               (unsigned long long)k.hashes, (unsigned long long)k.checks, (unsigned long long)k.switches,
               (unsigned long long)k.bytes, (unsigned long long)k.round_trips);
    }
}

/* One derived-entry term as the program writes it: sum(g * g), sum(g[0:3] * g[3:6]),
 * sum(dot(g, g)). */
static void s_term_text(const mpc_contrib_decl *d, const mpc_contrib_term *t, char *buf, size_t len)
{
    char x[2][MPC_NAME_MAX + 48];
    uint32_t at[2] = {t->a, t->b};
    for (int i = 0; i < 2; i++) {
        if (at[i] == 0 && t->n == d->len) snprintf(x[i], sizeof x[i], "%s", d->name);
        else snprintf(x[i], sizeof x[i], "%s[%u:%u]", d->name, (unsigned)at[i], (unsigned)(at[i] + t->n));
    }
    if (t->each) snprintf(buf, len, "sum(%s * %s)", x[0], x[1]);
    else snprintf(buf, len, "sum(dot(%s, %s))", x[0], x[1]);
}

/* The contributor inputs: range, derived entries and max_count.  The validity proof's sizes
 * are protocols/flp.h's business (circuits/ depends on nothing of ours): `mpcbench flp`
 * prints them. */
static void s_contrib_stats(const mpc_circuit *c, int json)
{
    for (uint32_t i = 0; i < c->n_contrib; i++) {
        const mpc_contrib_decl *d = &c->contrib[i];
        double sc = d->type == MPC_T_FIX ? ldexp(1.0, -(int)c->frac_bits) : 1.0;
        if (!json) {
            printf("contributions: %s %s[%llu] in %g..%g, derived entries %llu", d->name, mpc_type_names[d->type],
                   (unsigned long long)d->len, (double)d->lo * sc, (double)d->hi * sc, (unsigned long long)d->n_derived);
            for (uint32_t k = 0; k < d->n_terms; k++) {
                char tx[2 * MPC_NAME_MAX + 128];
                s_term_text(d, &d->terms[k], tx, sizeof tx);
                printf("%s %s %u", k ? "," : ":", tx, d->terms[k].each ? (unsigned)d->terms[k].n : 1u);
            }
            printf("; max_count %u\n", (unsigned)d->max_count);
            continue;
        }
        printf("%s{\"name\": ", i ? ", " : "");
        s_json_str(stdout, d->name);
        printf(", \"len\": %llu, \"derived\": %llu, \"terms\": [", (unsigned long long)d->len,
               (unsigned long long)d->n_derived);
        for (uint32_t k = 0; k < d->n_terms; k++) {
            char tx[2 * MPC_NAME_MAX + 128];
            s_term_text(d, &d->terms[k], tx, sizeof tx);
            printf("%s", k ? ", " : "");
            s_json_str(stdout, tx);
        }
        printf("], \"max_count\": %u}", (unsigned)d->max_count);
    }
}

static int s_stats(const mpc_circuit *c, int json)
{
    mpc_circ_stats st;
    mpc_circ_stats_get(c, &st);
    uint8_t h[MPC_HASH_BYTES];
    char hex[2 * MPC_HASH_BYTES + 1];
    if (mpc_circ_hash(c, h) != 0) return s_err("cannot hash the circuit (out of memory)");
    mpc_hash_hex(h, hex);
    if (!json) {
        printf("gates: %llu\ntriples: %llu\ncomparisons: %llu\nrounds: %u\nhash: %s\ntruncations: %llu\n",
               (unsigned long long)st.gates, (unsigned long long)st.triples,
               (unsigned long long)st.comparisons, (unsigned)st.rounds, hex,
               (unsigned long long)st.trunc_elems);
        printf("parties: ");
        s_print_recipients(stdout, c, UINT32_MAX, 0);
        printf("\nprecision: %u\nopened: %llu\n", (unsigned)c->frac_bits, (unsigned long long)st.opened_elems);
        printf("edabits: %llu\ndabits: %llu\nbinary_ands: %llu\nsquares: %llu\n",
               (unsigned long long)st.edabits, (unsigned long long)st.dabits,
               (unsigned long long)st.bin_ands, (unsigned long long)st.squares);
        for (uint32_t p = 0; p < c->n_parties; p++) {
            const mpc_circuit *lc = mpc_circ_local_of(c, p);
            if (!lc) continue;
            mpc_circ_stats ls;
            mpc_circ_stats_get(lc, &ls);
            printf("local %s: gates %llu, inputs", c->party_names[p], (unsigned long long)ls.gates);
            for (uint32_t i = 0; i < lc->n_inputs; i++) printf(" %s", lc->inputs[i].name);
            printf(", derived");
            for (uint32_t i = 0; i < lc->n_outputs; i++) printf(" %s", lc->outputs[i].name);
            printf("\n");
        }
        printf("mpc: gates %llu, triples %llu, squares %llu, comparisons %llu, rounds %u\n",
               (unsigned long long)st.gates, (unsigned long long)st.triples,
               (unsigned long long)st.squares, (unsigned long long)st.comparisons, (unsigned)st.rounds);
        for (uint32_t i = 0; i < c->n_inputs; i++) {
            const mpc_input *in = &c->inputs[i];
            printf("input: %s from %s %s[%llu]%s\n", in->name, c->party_names[in->party],
                   mpc_type_names[in->type], (unsigned long long)in->len,
                   mpc_circ_input_local(c, i) ? " (derived)" : "");
        }
        for (uint32_t i = 0; i < c->n_outputs; i++) {
            const mpc_output *o = &c->outputs[i];
            printf("output: %s %s[%llu] to ", o->name, mpc_type_names[o->type], (unsigned long long)o->len);
            s_print_recipients(stdout, c, o->recipients, 0);
            printf("\n");
        }
        for (uint32_t i = 0; i < c->n_dp; i++) {
            const mpc_dp_output *d = &c->dp[i];
            printf("dp: %s %s binomial eps %g delta %g sensitivity %llu coins %llu noise_sd %.4g%s daBits %llu\n",
                   c->outputs[d->output].name, mpc_dp_kind_name(d->kind), d->eps, d->delta,
                   (unsigned long long)d->sens, (unsigned long long)d->coins,
                   sqrt((double)d->coins) / 2 / (double)d->divisor, d->divisor > 1 ? " (after the division)" : "",
                   (unsigned long long)(d->coins * c->outputs[d->output].len));
        }
        if (st.noise_elems)
            printf("noise: %llu values, %llu daBits, 0 rounds, 0 triples\n", (unsigned long long)st.noise_elems,
                   (unsigned long long)st.noise_dabits);
        s_join_stats(c, 0);
        s_contrib_stats(c, 0);
        return 0;
    }
    printf("{\"gates\": %llu, \"triples\": %llu, \"comparisons\": %llu, \"rounds\": %u, \"hash\": \"%s\", "
           "\"truncations\": %llu, \"opened\": %llu, \"precision\": %u, \"edabits\": %llu, "
           "\"dabits\": %llu, \"binary_ands\": %llu, \"squares\": %llu, \"parties\": [",
           (unsigned long long)st.gates, (unsigned long long)st.triples, (unsigned long long)st.comparisons,
           (unsigned)st.rounds, hex, (unsigned long long)st.trunc_elems, (unsigned long long)st.opened_elems,
           (unsigned)c->frac_bits, (unsigned long long)st.edabits, (unsigned long long)st.dabits,
           (unsigned long long)st.bin_ands, (unsigned long long)st.squares);
    s_print_recipients(stdout, c, UINT32_MAX, 1);
    printf("], \"inputs\": [");
    for (uint32_t i = 0; i < c->n_inputs; i++) {
        const mpc_input *in = &c->inputs[i];
        printf("%s{\"name\": ", i ? ", " : "");
        s_json_str(stdout, in->name);
        printf(", \"party\": ");
        s_json_str(stdout, c->party_names[in->party]);
        printf(", \"type\": \"%s\", \"len\": %llu, \"derived\": %s}", mpc_type_names[in->type],
               (unsigned long long)in->len, mpc_circ_input_local(c, i) ? "true" : "false");
    }
    printf("], \"local\": [");
    for (uint32_t l = 0; l < c->n_locals; l++) {
        const mpc_circuit *lc = c->locals[l];
        mpc_circ_stats ls;
        mpc_circ_stats_get(lc, &ls);
        printf("%s{\"party\": ", l ? ", " : "");
        s_json_str(stdout, c->party_names[lc->inputs[0].party]);
        printf(", \"gates\": %llu, \"inputs\": [", (unsigned long long)ls.gates);
        for (uint32_t i = 0; i < lc->n_inputs; i++) {
            printf("%s", i ? ", " : "");
            s_json_str(stdout, lc->inputs[i].name);
        }
        printf("], \"derived\": [");
        for (uint32_t i = 0; i < lc->n_outputs; i++) {
            printf("%s", i ? ", " : "");
            s_json_str(stdout, lc->outputs[i].name);
        }
        printf("]}");
    }
    printf("], \"outputs\": [");
    for (uint32_t i = 0; i < c->n_outputs; i++) {
        const mpc_output *o = &c->outputs[i];
        printf("%s{\"name\": ", i ? ", " : "");
        s_json_str(stdout, o->name);
        printf(", \"type\": \"%s\", \"len\": %llu, \"recipients\": [", mpc_type_names[o->type],
               (unsigned long long)o->len);
        s_print_recipients(stdout, c, o->recipients, 1);
        printf("]}");
    }
    printf("], \"dp\": [");
    for (uint32_t i = 0; i < c->n_dp; i++) {
        const mpc_dp_output *d = &c->dp[i];
        printf("%s{\"output\": ", i ? ", " : "");
        s_json_str(stdout, c->outputs[d->output].name);
        printf(", \"kind\": \"%s\", \"mechanism\": \"binomial\", \"eps\": %.17g, \"delta\": %.17g, "
               "\"sensitivity\": %llu, \"coins\": %llu, \"divisor\": %llu, \"noise_sd\": %.17g, \"dabits\": %llu}",
               mpc_dp_kind_name(d->kind), d->eps, d->delta, (unsigned long long)d->sens,
               (unsigned long long)d->coins, (unsigned long long)d->divisor,
               sqrt((double)d->coins) / 2 / (double)d->divisor,
               (unsigned long long)(d->coins * c->outputs[d->output].len));
    }
    printf("], \"joins\": [");
    s_join_stats(c, 1);
    printf("], \"contributions\": [");
    s_contrib_stats(c, 1);
    printf("], \"noise_dabits\": %llu}\n", (unsigned long long)st.noise_dabits);
    return 0;
}

/* Reads table t from the CSV file at path into the vals of its columns "t.COLUMN". */
static int s_load_table(const mpc_circuit *c, const mpc_input *d, uint32_t nd, const s_opts *o, const char *t,
                        const char *path, uint64_t **vals)
{
    mpc_table_col *cols = NULL;
    size_t ncols = 0;
    char err[512];
    if (mpc_table_load(d, nd, c->frac_bits, o->src, o->src_len, t, path, &o->csv, &cols, &ncols, err, sizeof err) != 0) {
        size_t pl = strlen(path);
        if (strncmp(err, path, pl) == 0 && err[pl] == ':' && err[pl + 1] >= '0' && err[pl + 1] <= '9') {
            fprintf(stderr, "%s\n", err);   /* already file:line:col: error: ... */
            return 1;
        }
        return s_err("table '%s': %s", t, err);
    }
    for (size_t k = 0; k < ncols; k++)
        for (uint32_t i = 0; i < nd; i++) {
            char full[MPC_NAME_MAX * 2];
            snprintf(full, sizeof full, "%s.%s", t, cols[k].name);
            if (strcmp(d[i].name, full) != 0) continue;
            if (vals[i]) {
                mpc_table_free(cols, ncols, d[i].len);
                return s_err("input '%s' is given twice", d[i].name);
            }
            vals[i] = cols[k].vals;
            cols[k].vals = NULL;
        }
    mpc_table_free(cols, ncols, 0);
    return 0;
}

/* For each --input TABLE=@FILE whose table's row count is a param without value (and no -D
 * gives it), -D PARAM=<data rows of FILE>. */
static int s_table_defines(s_opts *o, const char *src, size_t len)
{
    size_t n_in = o->n_inputs;
    for (size_t k = 0; k < n_in; k++) {
        const char *arg = o->inputs[k], *eq = strchr(arg, '=');
        if (!eq || eq == arg || eq[1] != '@' || (size_t)(eq - arg) >= MPC_NAME_MAX) continue;
        char t[MPC_NAME_MAX], param[MPC_NAME_MAX], err[512];
        snprintf(t, sizeof t, "%.*s", (int)(eq - arg), arg);
        uint64_t rows = 0;
        int r = mpc_table_row_param(src, len, t, eq + 2, o->csv.sep, param, sizeof param, &rows, err, sizeof err);
        if (r < 0) {
            fprintf(stderr, "%s\n", err);
            return 1;
        }
        if (r == 0) continue;
        int given = 0;
        for (size_t i = 0; i < o->n_defs; i++) given |= strcmp(o->defs[i].name, param) == 0;
        if (given) continue;   /* -D wins; the file must then match it */
        size_t pl = strlen(param);
        char *name = malloc(pl + 1 + 24);   /* name, then the value: freed as the name */
        if (!name) return s_err("out of memory");
        memcpy(name, param, pl + 1);
        char *value = name + pl + 1;
        snprintf(value, 24, "%llu", (unsigned long long)rows);
        o->defs[o->n_defs].name = name;
        o->defs[o->n_defs].value = value;
        o->n_defs++;
    }
    return 0;
}

/* Whether t is a table of one of c's joins. */
static int s_join_table(const mpc_circuit *c, const char *t)
{
    for (uint32_t j = 0; j < c->n_joins; j++)
        if (!strcmp(c->joins[j].table[0], t) || !strcmp(c->joins[j].table[1], t)) return 1;
    return 0;
}

static int s_decl_of(const mpc_input *d, uint32_t nd, const char *name)
{
    for (uint32_t i = 0; i < nd; i++)
        if (!strcmp(d[i].name, name)) return (int)i;
    return -1;
}

/* One join in plaintext: reads both tables' key columns from their --input TABLE=@FILE and
 * computes the join's outputs (mpc_join_eval) into vals. */
static int s_load_join(const mpc_circuit *c, const mpc_join_decl *jd, const mpc_input *d, uint32_t nd,
                       const s_opts *o, uint64_t **vals)
{
    mpc_join_keys keys[2];
    memset(keys, 0, sizeof keys);
    const uint64_t *pv[2][MPC_JOIN_MAX_PAYLOAD];
    uint64_t *ov[1 + 2 * MPC_JOIN_MAX_PAYLOAD];
    uint32_t nout = 1 + jd->n_cols[0] + jd->n_cols[1];
    int oi[1 + 2 * MPC_JOIN_MAX_PAYLOAD], r = 1;
    char err[512];
    for (int sd = 0; sd < 2; sd++) {
        const char *path = NULL;
        size_t tl = strlen(jd->table[sd]);
        for (size_t k = 0; k < o->n_inputs; k++)
            if (!strncmp(o->inputs[k], jd->table[sd], tl) && o->inputs[k][tl] == '=' && o->inputs[k][tl + 1] == '@')
                path = o->inputs[k] + tl + 2;
        if (!path) {
            s_err("missing --input %s=@FILE.csv: table '%s' with its key column '%s' (join '%s')", jd->table[sd],
                  jd->table[sd], jd->key[sd], jd->name);
            goto out;
        }
        if (mpc_join_keys_load(path, &o->csv, jd->key[sd], &keys[sd], err, sizeof err) != 0) {
            fprintf(stderr, "%s\n", err);
            goto out;
        }
        if (keys[sd].rows != jd->rows[sd]) {
            s_err("%s: %llu rows, but table '%s' has %llu rows in the program", path,
                  (unsigned long long)keys[sd].rows, jd->table[sd], (unsigned long long)jd->rows[sd]);
            goto out;
        }
        for (uint32_t m = 0; m < jd->n_cols[sd]; m++) {
            int k = s_decl_of(d, nd, c->inputs[jd->col[sd][m]].name);
            if (k < 0 || !vals[k]) {
                s_err("missing --input %s=@FILE.csv (column '%s', join '%s')", jd->table[sd],
                      c->inputs[jd->col[sd][m]].name, jd->name);
                goto out;
            }
            pv[sd][m] = vals[k];
        }
    }
    for (uint32_t m = 0; m < nout; m++) {
        oi[m] = s_decl_of(d, nd, c->inputs[jd->out[m]].name);
        if (oi[m] < 0) {
            s_err("internal error: no input '%s'", c->inputs[jd->out[m]].name);
            goto out;
        }
        if (!vals[oi[m]] && !(vals[oi[m]] = calloc(jd->rows[1], sizeof *vals[oi[m]]))) {
            s_err("out of memory");
            goto out;
        }
        ov[m] = vals[oi[m]];
    }
    if (mpc_join_eval(jd, &keys[0], &keys[1], pv[0], pv[1], ov, err, sizeof err) != 0) {
        s_err("%s", err);
        goto out;
    }
    r = 0;
out:
    mpc_join_keys_free(&keys[0]);
    mpc_join_keys_free(&keys[1]);
    return r;
}

static int s_load_joins(const mpc_circuit *c, const mpc_input *d, uint32_t nd, const s_opts *o, uint64_t **vals)
{
    for (uint32_t j = 0; j < c->n_joins; j++)
        if (s_load_join(c, &c->joins[j], d, nd, o, vals) != 0) return 1;
    return 0;
}

/* Reads every --input into vals[i] (indexed like the declared inputs d[0..nd-1]: what the
 * parties give, pushdown.h); messages name the input. */
static int s_load_inputs(const mpc_circuit *c, const mpc_input *d, uint32_t nd, const s_opts *o, uint64_t **vals)
{
    for (size_t k = 0; k < o->n_inputs; k++) {
        const char *arg = o->inputs[k];
        const char *eq = strchr(arg, '=');
        if (!eq || eq == arg) return s_err("--input needs NAME=VALUES, got '%s'", arg);
        size_t nl = (size_t)(eq - arg);
        uint32_t i;
        for (i = 0; i < nd; i++)
            if (strlen(d[i].name) == nl && memcmp(d[i].name, arg, nl) == 0) break;
        if (i == nd && eq[1] == '@' && nl < MPC_NAME_MAX) {   /* a table from a CSV file */
            char t[MPC_NAME_MAX];
            snprintf(t, sizeof t, "%.*s", (int)nl, arg);
            const mpc_contrib_decl *cd = mpc_circ_contrib(c, t);
            if (cd) {   /* contributions, one per line: the field sums and the count */
                for (i = 0; i < nd && strcmp(d[i].name, cd->input) != 0; i++) {}
                if (i == nd || d[i].len != cd->len + cd->n_derived + 1)
                    return s_err("internal error: no input '%s'", cd->input);
                if (vals[i]) return s_err("input '%s' is given twice", t);
                char err[512];
                if (!(vals[i] = malloc(d[i].len * sizeof *vals[i]))) return s_err("out of memory");
                uint64_t dropped = 0;
                if (mpc_contrib_load(cd, c->frac_bits, eq + 2, vals[i], &dropped, err, sizeof err) != 0) {
                    fprintf(stderr, "%s\n", err);
                    return 1;
                }
                if (dropped)   /* as the daemons drop them: invalid (docs/contributions.md) */
                    fprintf(stderr, "mpcc: note: %llu contributions to '%s' over its norm bound left out\n",
                            (unsigned long long)dropped, cd->name);
                continue;
            }
            if (mpc_table_exists(d, nd, t)) {
                if (s_load_table(c, d, nd, o, t, eq + 2, vals) != 0) return 1;
                continue;
            }
            if (s_join_table(c, t)) continue;   /* only a key column: read by s_load_joins */
        }
        if (i < nd && mpc_join_input_of(d[i].name))
            return s_err("input '%s' is given by the join (mpcc --eval computes it from the tables' CSV files)",
                         d[i].name);
        if (i == nd) {
            fprintf(stderr, "mpcc: error: unknown input '%.*s'; the program's inputs are:", (int)nl, arg);
            for (uint32_t j = 0; j < nd; j++) fprintf(stderr, " %s", d[j].name);
            fputc('\n', stderr);
            return 1;
        }
        const mpc_input *in = &d[i];
        if (vals[i]) return s_err("input '%s' is given twice", in->name);
        uint64_t n = 0;
        char err[256];
        if (mpc_values_load((mpc_type)in->type, c->frac_bits, eq + 1, &vals[i], &n, err, sizeof err) != 0)
            return s_err("input '%s': %s", in->name, err);
        if (n != in->len)
            return s_err("input '%s' is %s[%llu] but %llu value%s given", in->name, mpc_type_names[in->type],
                         (unsigned long long)in->len, (unsigned long long)n, n == 1 ? " was" : "s were");
    }
    if (s_load_joins(c, d, nd, o, vals) != 0) return 1;
    for (uint32_t i = 0; i < nd; i++) {
        const mpc_contrib_decl *cd = vals[i] ? NULL : mpc_circ_contrib(c, d[i].name);
        if (cd)
            return s_err("missing --input %s=@FILE (the contributions to %s[%llu], one per line)", cd->name,
                         mpc_type_names[cd->type], (unsigned long long)cd->len);
        if (!vals[i])
            return s_err("missing --input %s=... (%s[%llu] from %s)", d[i].name,
                         mpc_type_names[d[i].type], (unsigned long long)d[i].len,
                         c->party_names[d[i].party]);
    }
    return 0;
}

static int s_eval(const mpc_circuit *c, const s_opts *o, const mpc_diag *src_diag)
{
    int r = 1;
    mpc_input *d = NULL;
    uint32_t nd = 0;
    if (mpc_circ_declared_inputs(c, &d, &nd) != 0) return s_err("out of memory");
    uint64_t **vals = calloc(nd + 1, sizeof *vals);
    mpc_eval_result res;
    memset(&res, 0, sizeof res);
    if (!vals) {
        free(d);
        return s_err("out of memory");
    }
    if (s_load_inputs(c, d, nd, o, vals) != 0) goto out;
    char err[512];
    mpc_eval_noise_seed(o->seeded ? o->seed : NULL);
    if (mpc_eval_declared(c, d, nd, (const uint64_t *const *)vals, &res, err, sizeof err) != 0) {
        s_err("evaluation failed: %s", err);
        goto out;
    }
    /* Warnings point into the source like compiler diagnostics. */
    mpc_diag wd;
    mpc_diag_init(&wd, src_diag->filename, src_diag->src, src_diag->src_len);
    for (uint32_t i = 0; i < res.n_warnings; i++)
        mpc_diag_warning(&wd, res.warnings[i].line, res.warnings[i].col, "%s", res.warnings[i].msg);
    if (!o->json) mpc_diag_print(&wd, stderr);
    char buf[64];
    if (!o->json) {
        for (uint32_t i = 0; i < c->n_outputs; i++) {
            const mpc_output *out = &c->outputs[i];
            printf("%s = ", out->name);
            for (uint64_t j = 0; j < out->len; j++) {
                mpc_value_format((mpc_type)out->type, c->frac_bits, res.outputs[i][j], buf, sizeof buf);
                printf("%s%s", j ? ", " : "", buf);
            }
            printf("\n");
        }
    } else {
        printf("{\"outputs\": [");
        for (uint32_t i = 0; i < c->n_outputs; i++) {
            const mpc_output *out = &c->outputs[i];
            printf("%s{\"name\": ", i ? ", " : "");
            s_json_str(stdout, out->name);
            printf(", \"type\": \"%s\", \"values\": [", mpc_type_names[out->type]);
            for (uint64_t j = 0; j < out->len; j++) {
                mpc_value_format((mpc_type)out->type, c->frac_bits, res.outputs[i][j], buf, sizeof buf);
                printf("%s%s", j ? ", " : "", buf);
            }
            printf("], \"recipients\": [");
            s_print_recipients(stdout, c, out->recipients, 1);
            printf("]}");
        }
        printf("], \"warnings\": [");
        for (size_t i = 0; i < wd.n_items; i++) {
            char line[512];
            mpc_diag_format(&wd, &wd.items[i], line, sizeof line);
            printf("%s{\"line\": %u, \"col\": %u, \"message\": ", i ? ", " : "", (unsigned)wd.items[i].line,
                   (unsigned)wd.items[i].col);
            s_json_str(stdout, wd.items[i].msg);
            printf(", \"text\": ");
            s_json_str(stdout, line);
            printf("}");
        }
        printf("]}\n");
    }
    mpc_diag_free(&wd);
    r = 0;
out:
    for (uint32_t i = 0; i < nd; i++) free(vals[i]);
    free(vals);
    free(d);
    mpc_eval_result_free(&res);
    return r;
}

/* --approve: the allow line for the program in src (docs/daemon.md, "Approving a program"). */
static int s_approve(const char *src, size_t len, const s_opts *o)
{
    mpc_diag d;
    mpc_program_canon pc;
    char hex[2 * MPC_HASH_BYTES + 1], err[256], line[8192], buf[128];
    int r = 1;
    mpc_diag_init(&d, o->path, src, len);
    if (mpc_program_canonicalize(src, len, &d, &pc) != 0) {
        mpc_diag_print(&d, stderr);
        goto out;
    }
    mpc_hash_hex(pc.hash, hex);
    size_t n = (size_t)snprintf(line, sizeof line, "allow = %s", hex);
    for (size_t k = 0; k < o->n_defs; k++) {
        uint32_t i = 0;
        while (i < pc.n_params && strcmp(pc.params[i], o->defs[k].name) != 0) i++;
        if (i == pc.n_params) {
            s_err("unknown parameter '%s' given with -D (%s declares no such param)", o->defs[k].name, o->path);
            goto out;
        }
        for (size_t j = 0; j < k; j++)
            if (!strcmp(o->defs[j].name, o->defs[k].name)) {
                s_err("param '%s' is constrained twice", o->defs[k].name);
                goto out;
            }
    }
    for (uint32_t i = 0; i < pc.n_params; i++) {
        if (!strcmp(pc.params[i], "parties")) {
            s_err("param 'parties' cannot be constrained in an allow line (parties= names the binding): rename it");
            goto out;
        }
        const mpc_define *def = NULL;
        for (size_t k = 0; k < o->n_defs; k++)
            if (!strcmp(o->defs[k].name, pc.params[i])) def = &o->defs[k];
        if (!def) {
            s_err("param '%s' is left free: constrain it with -D %s=LO..HI or -D %s=VALUE", pc.params[i],
                  pc.params[i], pc.params[i]);
            goto out;
        }
        mpc_param_constraint pcn;
        if (mpc_param_constraint_parse(def->value, &pcn, err, sizeof err) != 0) {
            s_err("-D %s: %s", def->name, err);
            goto out;
        }
        mpc_param_constraint_format(&pcn, buf, sizeof buf);
        n += (size_t)snprintf(line + n, sizeof line - n, " %s=%s", pc.params[i], buf);
        if (n >= sizeof line) goto toolong;
    }
    n += (size_t)snprintf(line + n, sizeof line - n, " parties=");
    if (n >= sizeof line) goto toolong;
    if (!o->parties) {
        for (uint32_t p = 0; p < pc.n_parties; p++)
            n += (size_t)snprintf(line + n, sizeof line - n, "%s%s", p ? "," : "", pc.parties[p]);
    } else {
        char names[MPC_MAX_PARTIES + 1][MPC_NAME_MAX];
        uint32_t k = 0;
        const char *p = o->parties;
        for (;;) {
            size_t l = strcspn(p, ",");
            if (k > MPC_MAX_PARTIES || l == 0 || l >= MPC_NAME_MAX || !mpc_name_ok(p, l)) {
                s_err("--parties: '%s' is not a comma-separated list of party names", o->parties);
                goto out;
            }
            memcpy(names[k], p, l);
            names[k][l] = 0;
            for (uint32_t j = 0; j < k; j++)
                if (!strcmp(names[j], names[k])) {
                    s_err("--parties: '%s' is listed twice", names[k]);
                    goto out;
                }
            k++;
            if (!p[l]) break;
            p += l + 1;
        }
        if (k != pc.n_parties) {
            s_err("--parties names %u parties but %s declares %u", (unsigned)k, o->path, (unsigned)pc.n_parties);
            goto out;
        }
        n += (size_t)snprintf(line + n, sizeof line - n, "%s", o->parties);
    }
    if (n >= sizeof line) goto toolong;
    printf("%s\n", line);
    r = 0;
    goto out;
toolong:
    s_err("the allow line would exceed %zu bytes", sizeof line - 1);
out:
    mpc_program_canon_free(&pc);
    mpc_diag_free(&d);
    return r;
}

/* prog.mpc -> prog.circ; anything else gets .circ appended. */
static char *s_default_out(const char *path)
{
    size_t n = strlen(path);
    char *p = malloc(n + 6);
    if (!p) return NULL;
    memcpy(p, path, n + 1);
    if (s_ends_with(p, ".mpc")) p[n - 4] = 0;
    strcat(p, ".circ");
    return p;
}

static int s_parse_args(int argc, char **argv, s_opts *o)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(s_usage, stdout);
            exit(0);
        } else if (strcmp(a, "--version") == 0) {
            printf("mpcc %s (circuit format %d)\n", MPCC_VERSION, MPC_CIRC_VERSION);
            exit(0);
        } else if (strcmp(a, "--stats") == 0) {
            o->stats = 1;
        } else if (strcmp(a, "--dump") == 0) {
            o->dump = 1;
        } else if (strcmp(a, "--eval") == 0) {
            o->eval = 1;
        } else if (strcmp(a, "--seed") == 0) {
            size_t got = 0;
            if (i + 1 >= argc || sodium_hex2bin(o->seed, sizeof o->seed, argv[i + 1], strlen(argv[i + 1]), NULL,
                                                &got, NULL) != 0 || got != sizeof o->seed)
                return s_err("--seed needs %d hex digits", 2 * MPC_EVAL_SEED_BYTES);
            o->seeded = 1;
            i++;
        } else if (strcmp(a, "--json") == 0) {
            o->json = 1;
        } else if (strcmp(a, "--strict") == 0) {
            o->strict = 1;
        } else if (strcmp(a, "--no-pushdown") == 0) {
            o->no_pushdown = 1;
        } else if (strcmp(a, "--approve") == 0) {
            o->approve = 1;
        } else if (strcmp(a, "--parties") == 0) {
            if (i + 1 >= argc) return s_err("%s needs an argument (see mpcc --help)", a);
            o->parties = argv[++i];
        } else if (strcmp(a, "-o") == 0 || strcmp(a, "--input") == 0 || strcmp(a, "-D") == 0) {
            if (i + 1 >= argc) return s_err("%s needs an argument (see mpcc --help)", a);
            const char *v = argv[++i];
            if (a[1] == 'o') {
                o->out_path = v;
            } else if (a[1] == 'D') {
                const char *eq = strchr(v, '=');
                if (!eq || eq == v) return s_err("-D needs NAME=VALUE, got '%s'", v);
                char *name = strndup(v, (size_t)(eq - v));
                if (!name) return s_err("out of memory");
                o->defs[o->n_defs].name = name;
                o->defs[o->n_defs].value = eq + 1;
                o->n_defs++;
            } else {
                o->inputs[o->n_inputs++] = v;
            }
        } else if (strncmp(a, "-D", 2) == 0 && a[2]) {
            const char *eq = strchr(a + 2, '=');
            if (!eq || eq == a + 2) return s_err("-D needs NAME=VALUE, got '%s'", a + 2);
            char *name = strndup(a + 2, (size_t)(eq - (a + 2)));
            if (!name) return s_err("out of memory");
            o->defs[o->n_defs].name = name;
            o->defs[o->n_defs].value = eq + 1;
            o->n_defs++;
        } else if (strcmp(a, "--missing=zero") == 0) {
            o->csv.missing_zero = 1;
        } else if (strcmp(a, "--sep") == 0 || strncmp(a, "--sep=", 6) == 0) {
            const char *v = a[5] == '=' ? a + 6 : i + 1 < argc ? argv[++i] : NULL;
            if (!v || mpc_csv_parse_sep(v, &o->csv.sep) != 0)
                return s_err("--sep takes ',', ';' or tab, got '%s'", v ? v : "");
        } else if (strncmp(a, "--input=", 8) == 0) {
            o->inputs[o->n_inputs++] = a + 8;
        } else if (a[0] == '-' && a[1]) {
            return s_err("unknown option '%s' (see mpcc --help)", a);
        } else {
            if (o->path) return s_err("more than one program given ('%s' and '%s')", o->path, a);
            o->path = a;
        }
    }
    if (!o->path) return s_err("no program given (see mpcc --help)");
    if (o->n_inputs && !o->eval) return s_err("--input is only used with --eval");
    if (o->seeded && !o->eval) return s_err("--seed is only used with --eval");
    if (o->json && !o->eval && !o->stats) return s_err("--json applies to --eval and --stats");
    if (o->parties && !o->approve) return s_err("--parties is only used with --approve");
    if (o->approve && (o->stats || o->dump || o->eval || o->out_path || o->strict || o->no_pushdown))
        return s_err("--approve prints an allow line and takes only -D and --parties");
    return 0;
}

int main(int argc, char **argv)
{
    s_opts o;
    memset(&o, 0, sizeof o);
    int r = 1;
    size_t len = 0;
    char *src = NULL, *default_out = NULL;
    mpc_circuit *c = NULL;
    mpc_diag d;
    mpc_diag_init(&d, "", NULL, 0);
    o.defs = calloc((size_t)argc + 1, sizeof *o.defs);
    o.inputs = calloc((size_t)argc + 1, sizeof *o.inputs);
    if (!o.defs || !o.inputs) {
        s_err("out of memory");
        goto out;
    }
    if (s_parse_args(argc, argv, &o) != 0) goto out;

    src = s_read_file(o.path, &len);
    if (!src) {
        s_err("cannot read '%s': %s", o.path, strerror(errno));
        goto out;
    }
    int is_circ = s_ends_with(o.path, ".circ") ||
                  (len >= 16 && memmem(src, 16, MPC_CIRC_MAGIC, strlen(MPC_CIRC_MAGIC)) != NULL);
    char err[512];
    if (o.approve) {
        if (is_circ || memchr(src, 0, len)) {
            s_err("--approve takes the program's source, not '%s'", o.path);
            goto out;
        }
        r = s_approve(src, len, &o);
        goto out;
    }
    if (is_circ) {
        if (o.n_defs) {
            s_err("-D applies to source programs, not to the compiled circuit '%s'", o.path);
            goto out;
        }
        if (mpc_circ_read((const uint8_t *)src, len, NULL, &c, err, sizeof err) != 0) {
            s_err("%s: %s", o.path, err);
            goto out;
        }
        if (o.no_pushdown && c->n_locals) {
            s_err("%s was compiled with pushdown; recompile the source with --no-pushdown", o.path);
            goto out;
        }
        mpc_diag_init(&d, o.path, NULL, 0);
        if (o.strict && mpc_circ_strict_check(c, err, sizeof err) != 0) {
            s_err("%s: refused (--strict): %s", o.path, err);
            goto out;
        }
        if (!o.stats && !o.dump && !o.eval && !o.out_path) {
            s_err("'%s' is already compiled: give --stats, --dump, --eval or -o", o.path);
            goto out;
        }
    } else {
        if (memchr(src, 0, len)) {
            s_err("'%s' is not a text file", o.path);
            goto out;
        }
        o.src = src;
        o.src_len = len;
        if (o.eval && s_table_defines(&o, src, len) != 0) goto out;
        unsigned fl = (o.strict ? MPC_COMPILE_STRICT : 0) | (o.no_pushdown ? 0 : MPC_COMPILE_PUSHDOWN);
        int cr = mpc_compile_ex(src, len, o.path, o.defs, o.n_defs, fl, &c, &d);
        mpc_diag_print(&d, stderr);
        if (cr != 0) goto out;
    }
    if (!o.stats && !o.dump && !o.eval && !o.out_path) {
        default_out = s_default_out(o.path);
        if (!default_out) {
            s_err("out of memory");
            goto out;
        }
        o.out_path = default_out;
    }
    if (o.out_path && mpc_circ_save(c, o.out_path, err, sizeof err) != 0) {
        s_err("%s", err);
        goto out;
    }
    if (o.stats && s_stats(c, o.json) != 0) goto out;
    if (o.dump) {
        mpc_circ_dump(c, stdout);
        for (uint32_t l = 0; l < c->n_locals; l++) {
            printf("\nlocal part of %s (computed by that party in the clear):\n",
                   c->party_names[c->locals[l]->inputs[0].party]);
            mpc_circ_dump(c->locals[l], stdout);
        }
    }
    if (o.eval && s_eval(c, &o, &d) != 0) goto out;
    if (fflush(stdout) != 0) {
        s_err("cannot write the output: %s", strerror(errno));
        goto out;
    }
    r = 0;
out:
    mpc_circ_destroy(&c);
    mpc_diag_free(&d);
    if (o.defs)
        for (size_t i = 0; i < o.n_defs; i++) free((char *)o.defs[i].name);
    free(o.defs);
    free(o.inputs);
    free(src);
    free(default_out);
    return r;
}
