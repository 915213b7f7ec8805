/* check_format.c — .circ round trips, canonical hash, and hostile files refused cleanly. */
#include <check.h>
#include <msgpack.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runner.h"
#include "dump.h"
#include "format.h"
#include "compile.h"
#include "contrib.h"
#include "pushdown.h"

#define NW MPC_NO_WIRE

static uint64_t s_rng = 0x13198a2e03707344ull;
static uint64_t s_rand(void)
{
    s_rng ^= s_rng >> 12;
    s_rng ^= s_rng << 25;
    s_rng ^= s_rng >> 27;
    return s_rng * 2685821657736338717ull;
}

/* See check_eval.c: works around mpc_circ_add_output's stale pointer after realloc. */
static void s_room(mpc_circuit *c)
{
    if (c->n_gates < c->cap_gates) return;
    uint32_t nc = c->cap_gates ? c->cap_gates * 2 : 16;
    mpc_gate *g = realloc(c->gates, nc * sizeof *g);
    ck_assert_ptr_nonnull(g);
    c->gates = g;
    c->cap_gates = nc;
}

static uint32_t s_g(mpc_circuit *c, mpc_gate_kind k, mpc_type t, uint64_t len, uint32_t a,
                    uint32_t b, uint32_t d, uint64_t x0, uint64_t x1)
{
    uint32_t w = mpc_circ_add_gate(c, k, t, len, a, b, d, x0, x1, 20 + c->n_gates, 5);
    ck_assert_uint_ne(w, NW);
    return w;
}

/* A circuit using every gate kind, three parties, constants, several outputs. */
static mpc_circuit *s_sample(void)
{
    mpc_circuit *c = mpc_circ_new();
    char err[256];
    ck_assert_ptr_nonnull(c);
    strcpy(c->source, "examples/sample.mpc");
    ck_assert_int_eq(mpc_circ_add_party(c, "alice"), 0);
    ck_assert_int_eq(mpc_circ_add_party(c, "bob"), 1);
    ck_assert_int_eq(mpc_circ_add_party(c, "carol"), 2);
    uint32_t x = mpc_circ_add_input(c, "x", 0, MPC_T_INT, 8, 2, 7);
    uint32_t y = mpc_circ_add_input(c, "y", 1, MPC_T_FIX, 8, 3, 7);
    uint32_t z = mpc_circ_add_input(c, "z", 2, MPC_T_FIX, 1, 4, 7);
    uint64_t kv[8] = {1, 2, 3, 4, 5, 6, 7, (uint64_t)-8};
    uint32_t k8 = mpc_circ_add_const(c, MPC_T_INT, kv, 8, 5, 1);
    uint64_t half = 32768;
    uint32_t kh = mpc_circ_add_const(c, MPC_T_FIX, &half, 1, 6, 1);
    uint32_t a = s_g(c, MPC_G_ADD, MPC_T_FIX, 8, y, z, NW, 0, 0);
    uint32_t s = s_g(c, MPC_G_SUB, MPC_T_INT, 8, x, x, NW, 0, 0);
    uint32_t n = s_g(c, MPC_G_NEG, MPC_T_INT, 8, s, NW, NW, 0, 0);
    uint32_t ap = s_g(c, MPC_G_ADD_PUB, MPC_T_INT, 8, n, k8, NW, 0, 0);
    uint32_t mp = s_g(c, MPC_G_MUL_PUB, MPC_T_FIX, 8, a, kh, NW, 0, 0);
    uint32_t m = s_g(c, MPC_G_MUL, MPC_T_FIX, 8, mp, y, NW, 0, 0);
    uint32_t t = s_g(c, MPC_G_TRUNC, MPC_T_FIX, 8, m, NW, NW, 16, 63);
    uint32_t su = s_g(c, MPC_G_SUM, MPC_T_INT, 1, ap, NW, NW, 0, 0);
    uint32_t d = s_g(c, MPC_G_DOT, MPC_T_FIX, 1, t, y, NW, 0, 0);
    uint32_t l = s_g(c, MPC_G_LTZ, MPC_T_BOOL, 8, t, NW, NW, 0, 0);
    uint32_t e = s_g(c, MPC_G_EQZ, MPC_T_BOOL, 8, ap, NW, NW, 0, 0);
    uint32_t se = s_g(c, MPC_G_SELECT, MPC_T_FIX, 8, l, t, y, 0, 0);
    uint32_t sl = s_g(c, MPC_G_SLICE, MPC_T_BOOL, 4, e, NW, NW, 1, 2);
    uint32_t cc = s_g(c, MPC_G_CONCAT, MPC_T_FIX, 9, se, d, NW, 0, 0);
    s_room(c);
    ck_assert_int_ge(mpc_circ_add_output(c, "sum", su, 1, 30, 1), 0);
    s_room(c);
    ck_assert_int_ge(mpc_circ_add_output(c, "vec", cc, 6, 31, 1), 0);
    s_room(c);
    ck_assert_int_ge(mpc_circ_add_output(c, "bits", sl, 7, 32, 1), 0);
    int r = mpc_circ_finish(c, err, sizeof err);
    ck_assert_msg(r == 0, "%s", err);
    return c;
}

static void s_write(const mpc_circuit *c, uint8_t **b, size_t *n)
{
    ck_assert_int_eq(mpc_circ_write(c, b, n), 0);
    ck_assert_ptr_nonnull(*b);
}

/* The bytes of a circuit without a program as version 3 writes them: the version-4 file ends
 * with a nil program field (0xc0), which version 3 does not have. */
static void s_write_v3(const mpc_circuit *c, uint8_t **b, size_t *n)
{
    ck_assert_ptr_null(c->program);
    s_write(c, b, n);
    ck_assert_uint_eq((*b)[0], 0x9c);                /* version 4: 12 fields */
    ck_assert_uint_eq((*b)[9], 4);
    ck_assert_uint_eq((*b)[*n - 1], 0xc0);
    (*b)[0] = 0x9b;
    (*b)[9] = 3;
    (*n)--;
}

static void s_assert_same(const mpc_circuit *a, const mpc_circuit *b)
{
    ck_assert_uint_eq(a->frac_bits, b->frac_bits);
    ck_assert_uint_eq(a->n_parties, b->n_parties);
    ck_assert_str_eq(a->source, b->source);
    for (uint32_t i = 0; i < a->n_parties; i++) ck_assert_str_eq(a->party_names[i], b->party_names[i]);
    ck_assert_uint_eq(a->n_inputs, b->n_inputs);
    for (uint32_t i = 0; i < a->n_inputs; i++) {
        const mpc_input *p = &a->inputs[i], *q = &b->inputs[i];
        ck_assert_str_eq(p->name, q->name);
        ck_assert(p->party == q->party && p->type == q->type && p->len == q->len &&
                  p->wire == q->wire && p->line == q->line && p->col == q->col);
    }
    ck_assert_uint_eq(a->n_outputs, b->n_outputs);
    for (uint32_t i = 0; i < a->n_outputs; i++) {
        const mpc_output *p = &a->outputs[i], *q = &b->outputs[i];
        ck_assert_str_eq(p->name, q->name);
        ck_assert(p->type == q->type && p->len == q->len && p->wire == q->wire &&
                  p->recipients == q->recipients && p->line == q->line && p->col == q->col);
    }
    ck_assert_uint_eq(a->n_consts, b->n_consts);
    ck_assert_mem_eq(a->consts, b->consts, a->n_consts * 8);
    ck_assert_uint_eq(a->n_gates, b->n_gates);
    for (uint32_t i = 0; i < a->n_gates; i++) {
        const mpc_gate *p = &a->gates[i], *q = &b->gates[i];
        ck_assert(p->kind == q->kind && p->type == q->type && p->layer == q->layer &&
                  p->in[0] == q->in[0] && p->in[1] == q->in[1] && p->in[2] == q->in[2] &&
                  p->len == q->len && p->aux[0] == q->aux[0] && p->aux[1] == q->aux[1] &&
                  p->line == q->line && p->col == q->col);
    }
    ck_assert_uint_eq(a->rounds, b->rounds);
}

START_TEST(test_round_trip_identical_bytes)
{
    mpc_circuit *c = s_sample(), *d = NULL;
    uint8_t *b1, *b2;
    size_t n1, n2;
    char err[256];
    s_write(c, &b1, &n1);
    ck_assert_int_eq(mpc_circ_read(b1, n1, NULL, &d, err, sizeof err), 0);
    s_assert_same(c, d);
    s_write(d, &b2, &n2);
    ck_assert_uint_eq(n1, n2);
    ck_assert_mem_eq(b1, b2, n1);
    uint8_t h1[MPC_HASH_BYTES], h2[MPC_HASH_BYTES];
    ck_assert_int_eq(mpc_circ_hash(c, h1), 0);
    ck_assert_int_eq(mpc_circ_hash(d, h2), 0);
    ck_assert_mem_eq(h1, h2, MPC_HASH_BYTES);
    char hex[2 * MPC_HASH_BYTES + 1];
    mpc_hash_hex(h1, hex);
    ck_assert_uint_eq(strlen(hex), 64);
    ck_assert_uint_eq(strspn(hex, "0123456789abcdef"), 64);
    /* The hash is BLAKE2b-256 of the written bytes in the version-3 layout (without the
     * program field) once the source name and positions are cleared. */
    uint8_t h3[32], *b3;
    size_t n3;
    d->source[0] = 0;
    for (uint32_t i = 0; i < d->n_gates; i++) d->gates[i].line = d->gates[i].col = 0;
    for (uint32_t i = 0; i < d->n_inputs; i++) d->inputs[i].line = d->inputs[i].col = 0;
    for (uint32_t i = 0; i < d->n_outputs; i++) d->outputs[i].line = d->outputs[i].col = 0;
    s_write_v3(d, &b3, &n3);
    crypto_generichash(h3, 32, b3, n3, NULL, 0);
    ck_assert_mem_eq(h1, h3, 32);
    free(b3);
    free(b1);
    free(b2);
    mpc_circ_destroy(&d);
    /* A source buffer filled to the brim (no NUL) is written cut to what reads back. */
    memset(c->source, 'a', sizeof c->source);
    s_write(c, &b1, &n1);
    ck_assert_int_eq(mpc_circ_read(b1, n1, NULL, &d, err, sizeof err), 0);
    ck_assert_uint_eq(strlen(d->source), sizeof d->source - 1);
    free(b1);
    mpc_circ_destroy(&c);
    mpc_circ_destroy(&d);
}
END_TEST

START_TEST(test_hash_changes_with_every_field)
{
    mpc_circuit *c = s_sample();
    uint8_t h0[MPC_HASH_BYTES], h[MPC_HASH_BYTES];
    ck_assert_int_eq(mpc_circ_hash(c, h0), 0);
#define MUTATE(stmt_do, stmt_undo)                                     \
    do {                                                               \
        stmt_do;                                                       \
        ck_assert_int_eq(mpc_circ_hash(c, h), 0);                      \
        ck_assert_msg(memcmp(h, h0, sizeof h) != 0, "hash unchanged: " #stmt_do); \
        stmt_undo;                                                     \
        ck_assert_int_eq(mpc_circ_hash(c, h), 0);                      \
        ck_assert_mem_eq(h, h0, sizeof h);                             \
    } while (0)
    MUTATE(c->frac_bits = 17, c->frac_bits = 16);
    MUTATE(c->party_names[1][0] = 'B', c->party_names[1][0] = 'b');
    MUTATE(c->inputs[0].party = 1, c->inputs[0].party = 0);
    MUTATE(c->inputs[2].name[0] = 'w', c->inputs[2].name[0] = 'z');
    MUTATE(c->outputs[1].recipients = 7, c->outputs[1].recipients = 6);
    MUTATE(c->consts[3] ^= 1ull << 63, c->consts[3] ^= 1ull << 63);
    MUTATE(c->gates[11].aux[0] = 15, c->gates[11].aux[0] = 16);
    MUTATE(c->gates[11].aux[1] = 62, c->gates[11].aux[1] = 63);
    MUTATE(c->gates[5].kind = MPC_G_SUB, c->gates[5].kind = MPC_G_ADD);
    MUTATE(c->gates[5].type = MPC_T_INT, c->gates[5].type = MPC_T_FIX);
    MUTATE(c->gates[5].in[1] = 1, c->gates[5].in[1] = 2);
    MUTATE(c->gates[0].len = 9, c->gates[0].len = 8);
    /* Where the circuit came from is not part of it: the same program from another file,
     * or formatted differently, has the same hash. */
    c->source[0] = 'X';
    c->inputs[1].line++;
    c->outputs[0].col = 9;
    c->gates[5].line = 0;
    ck_assert_int_eq(mpc_circ_hash(c, h), 0);
    ck_assert_mem_eq(h, h0, sizeof h);
#undef MUTATE
    mpc_circ_destroy(&c);
}
END_TEST

START_TEST(test_save_load)
{
    mpc_circuit *c = s_sample(), *d = NULL;
    char path[] = "/tmp/check_format_XXXXXX", err[512];
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    ck_assert_int_eq(mpc_circ_save(c, path, err, sizeof err), 0);
    ck_assert_int_eq(mpc_circ_load(path, NULL, &d, err, sizeof err), 0);
    s_assert_same(c, d);
    mpc_circ_destroy(&d);
    FILE *f = fopen(path, "wb");
    fputs("hello", f);
    fclose(f);
    ck_assert_int_eq(mpc_circ_load(path, NULL, &d, err, sizeof err), -1);
    ck_assert_ptr_null(d);
    ck_assert_ptr_nonnull(strstr(err, path));
    ck_assert_ptr_nonnull(strstr(err, "magic"));
    unlink(path);
    ck_assert_int_eq(mpc_circ_load(path, NULL, &d, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, path));
    ck_assert_int_eq(mpc_circ_save(c, "/nonexistent-dir/x.circ", err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "/nonexistent-dir/x.circ"));
    mpc_circ_destroy(&c);
}
END_TEST

/* Reads buf and expects a refusal whose message contains `want` (if not NULL). */
static void s_refused(const uint8_t *buf, size_t n, const mpc_circ_limits *lim, const char *want)
{
    mpc_circuit *d = (mpc_circuit *)1;
    char err[512] = "";
    int r = mpc_circ_read(buf, n, lim, &d, err, sizeof err);
    ck_assert_msg(r == -1, "accepted, expected refusal with '%s'", want ? want : "");
    ck_assert_ptr_null(d);
    ck_assert_msg(err[0] != 0, "no message");
    if (want) ck_assert_msg(strstr(err, want) != NULL, "message '%s' lacks '%s'", err, want);
}

/* Writes c (not validated by the writer) and expects the reader to refuse it. */
static void s_refused_circ(const mpc_circuit *c, const mpc_circ_limits *lim, const char *want)
{
    uint8_t *b;
    size_t n;
    s_write(c, &b, &n);
    s_refused(b, n, lim, want);
    free(b);
}

START_TEST(test_truncated_at_every_offset)
{
    mpc_circuit *c = s_sample();
    uint8_t *b;
    size_t n;
    s_write(c, &b, &n);
    for (size_t k = 0; k < n; k++) {
        uint8_t *p = malloc(k ? k : 1);            /* exact-size copy so ASan sees overreads */
        memcpy(p, b, k);
        s_refused(p, k, NULL, NULL);
        free(p);
    }
    /* One trailing byte too many. */
    uint8_t *p = malloc(n + 1);
    memcpy(p, b, n);
    p[n] = 0;
    s_refused(p, n + 1, NULL, "trailing");
    free(p);
    free(b);
    mpc_circ_destroy(&c);
}
END_TEST

START_TEST(test_random_byte_flips)
{
    mpc_circuit *c = s_sample();
    uint8_t *b;
    size_t n;
    s_write(c, &b, &n);
    mpc_circ_limits lim = {.max_vector = 1 << 16, .max_total = 1 << 20};
    int accepted = 0;
    for (int it = 0; it < 20000; it++) {
        uint8_t *p = malloc(n);
        memcpy(p, b, n);
        int flips = 1 + (int)(s_rand() % 3);
        for (int f = 0; f < flips; f++) {
            size_t pos = s_rand() % n;
            if (s_rand() & 1) p[pos] ^= (uint8_t)(1u << (s_rand() % 8));
            else p[pos] = (uint8_t)s_rand();
        }
        mpc_circuit *d = NULL;
        char err[512];
        if (mpc_circ_read(p, n, &lim, &d, err, sizeof err) == 0) {
            /* Accepted: it must be a valid circuit that round-trips. */
            accepted++;
            ck_assert_int_eq(mpc_circ_validate(d, &lim, err, sizeof err), 0);
            uint8_t *q;
            size_t qn;
            s_write(d, &q, &qn);
            mpc_circuit *e = NULL;
            ck_assert_int_eq(mpc_circ_read(q, qn, &lim, &e, err, sizeof err), 0);
            s_assert_same(d, e);
            mpc_circ_destroy(&e);
            free(q);
            mpc_circ_destroy(&d);
        } else {
            ck_assert_ptr_null(d);
            ck_assert(err[0] != 0);
        }
        free(p);
    }
    /* Flips in line/col/const bytes leave a valid circuit: some must be accepted. */
    ck_assert_int_gt(accepted, 0);
    free(b);
    mpc_circ_destroy(&c);
}
END_TEST

START_TEST(test_huge_declared_lengths)
{
    /* 5 bytes claiming an array of 2^32-1 entries. */
    static const uint8_t a32[] = {0xdd, 0xff, 0xff, 0xff, 0xff};
    s_refused(a32, sizeof a32, NULL, "magic");
    /* A valid header followed by containers claiming far more than the file holds. */
    uint8_t hdr[] = {0x99, 0xa7, 'M', 'P', 'C', 'C', 'I', 'R', 'C', 0x01, 0x10, 0xa0};
    uint8_t buf[64];
    size_t h = sizeof hdr;
    memcpy(buf, hdr, h);
    const uint8_t *heads[] = {
        (const uint8_t *)"\xdd\xff\xff\xff\xff",     /* parties: array32 of 2^32-1 */
        (const uint8_t *)"\xdf\xff\xff\xff\xff",     /* map32 */
        (const uint8_t *)"\xc6\xff\xff\xff\xff",     /* bin32 of 4 GiB */
        (const uint8_t *)"\xdb\xff\xff\xff\xf0",     /* str32 */
        (const uint8_t *)"\xc9\xff\xff\xff\xff",     /* ext32 */
        (const uint8_t *)"\xdc\xff\xff",             /* array16 */
    };
    const size_t hl[] = {5, 5, 5, 5, 5, 3};
    for (size_t i = 0; i < sizeof heads / sizeof heads[0]; i++) {
        memcpy(buf + h, heads[i], hl[i]);
        memset(buf + h + hl[i], 0, 8);
        s_refused(buf, h + hl[i] + 8, NULL, "declares");
    }
    /* The same inside a valid file: the gate bin's length field claims 4 GiB. */
    mpc_circuit *c = s_sample();
    uint8_t *b;
    size_t n;
    s_write_v3(c, &b, &n);
    size_t gb = (size_t)c->n_gates * 48;
    ck_assert_uint_eq(b[n - 1], 0x90);               /* version 3 ends with no local parts */
    ck_assert_uint_eq(b[n - 2], 0);                  /* after warnings = 0 (a fixint) */
    ck_assert_uint_eq(b[n - 2 - gb - 3], 0xc5);      /* bin16 header precedes the records */
    memset(b + n - 2 - gb - 2, 0xff, 2);
    s_refused(b, n, NULL, "declares");
    free(b);
    /* Deep nesting is refused before msgpack recurses. */
    uint8_t deep[40];
    memcpy(deep, hdr, h);
    memset(deep + h, 0x91, sizeof deep - h - 1);
    deep[sizeof deep - 1] = 0x00;
    s_refused(deep, sizeof deep, NULL, "nesting");
    mpc_circ_destroy(&c);
}
END_TEST

START_TEST(test_wrong_magic_version_types)
{
    mpc_circuit *c = s_sample();
    uint8_t *b;
    size_t n;
    s_write_v3(c, &b, &n);
    ck_assert_uint_eq(b[0], 0x9b);                   /* version 3: 11 fields */
    b[3] = 'X';
    s_refused(b, n, NULL, "magic");
    b[3] = 'P';
    ck_assert_uint_eq(b[9], 3);
    b[9] = 5;
    s_refused(b, n, NULL, "version 5");
    b[9] = 0xff;                                     /* negative fixint */
    s_refused(b, n, NULL, "version");
    b[9] = 0;
    s_refused(b, n, NULL, "version 0");
    b[9] = 1;                                        /* version 1 has 9 fields, not 10 */
    s_refused(b, n, NULL, "version 1 circuit must be an array of 9 fields");
    b[9] = 3;
    b[0] = 0x9a;                                     /* 10 fields */
    s_refused(b, n, NULL, "must be an array of 11 fields");
    b[9] = 2;                                        /* version 2 has 10 fields, not 11 */
    b[0] = 0x9b;
    s_refused(b, n, NULL, "version 2 circuit must be an array of 10 fields");
    b[9] = 3;
    b[10] = 0xd0;                                    /* frac as int8: wrong type, and shifts bytes */
    s_refused(b, n, NULL, NULL);
    b[10] = 16;
    b[10] = 0x3f;                                    /* frac 63: out of range */
    s_refused(b, n, NULL, "frac_bits");
    b[10] = 41;                                      /* in range for the file, not for validate */
    s_refused(b, n, NULL, "precision");
    b[10] = 16;
    /* still valid after restoring */
    mpc_circuit *d = NULL;
    char err[256];
    ck_assert_int_eq(mpc_circ_read(b, n, NULL, &d, err, sizeof err), 0);
    mpc_circ_destroy(&d);
    /* Source name "examples/sample.mpc" follows: a control byte in it is refused. */
    ck_assert_uint_eq(b[11], 0xa0 | 19);
    b[12] = 0;
    s_refused(b, n, NULL, "control");
    free(b);
    mpc_circ_destroy(&c);
}
END_TEST

START_TEST(test_bad_wires_lengths_cycles)
{
    mpc_circuit *c = s_sample();
    mpc_gate saved;
    uint32_t g = 10;                                 /* the MUL gate */
    ck_assert_uint_eq(c->gates[g].kind, MPC_G_MUL);
    saved = c->gates[g];
    c->gates[g].in[0] = g;                           /* operand is itself: a cycle */
    s_refused_circ(c, NULL, "not an earlier gate");
    c->gates[g].in[0] = g + 3;                       /* forward reference */
    s_refused_circ(c, NULL, "not an earlier gate");
    c->gates[g].in[1] = 0xfffffff0;                  /* out of range */
    c->gates[g].in[0] = saved.in[0];
    s_refused_circ(c, NULL, "not an earlier gate");
    c->gates[g] = saved;
    c->gates[g].in[2] = 1;                           /* unused operand set */
    s_refused_circ(c, NULL, "unused operand");
    c->gates[g] = saved;
    c->gates[g].kind = 200;
    s_refused_circ(c, NULL, "unknown kind");
    c->gates[g] = saved;
    c->gates[g].type = 9;
    s_refused_circ(c, NULL, "type");
    c->gates[g] = saved;
    c->gates[g].in[1] = 3;                           /* a public operand to MUL */
    s_refused_circ(c, NULL, "must be secret");
    c->gates[g] = saved;
    c->gates[g].layer = 7;                           /* layers are recomputed, not trusted */
    {
        uint8_t *b;
        size_t n;
        mpc_circuit *d = NULL;
        char err[256];
        s_write(c, &b, &n);
        ck_assert_int_eq(mpc_circ_read(b, n, NULL, &d, err, sizeof err), 0);
        ck_assert_uint_eq(d->gates[g].layer, saved.layer);
        mpc_circ_destroy(&d);
        free(b);
    }
    c->gates[g] = saved;
    /* Vector lengths over the limits. */
    mpc_circ_limits small = {.max_vector = 4};
    s_refused_circ(c, &small, "vector length");
    mpc_circ_limits tiny_total = {.max_total = 20};
    s_refused_circ(c, &tiny_total, "in total");
    mpc_circ_limits few = {.max_gates = 5};
    s_refused_circ(c, &few, "limit is 5");
    mpc_circ_limits fewc = {.max_consts = 3};
    s_refused_circ(c, &fewc, "limit is 3");
    uint64_t l0 = c->gates[0].len;
    c->gates[0].len = 1ull << 40;
    c->inputs[0].len = 1ull << 40;
    s_refused_circ(c, NULL, "vector length");
    c->gates[0].len = l0;
    c->inputs[0].len = l0;
    /* Inputs/outputs tables inconsistent with gates. */
    c->inputs[1].wire = 0;
    s_refused_circ(c, NULL, "does not match input");
    c->inputs[1].wire = 1;
    c->inputs[1].party = 3;
    s_refused_circ(c, NULL, "input 'y'");
    c->inputs[1].party = 1;
    c->outputs[0].recipients = 8;
    s_refused_circ(c, NULL, "recipients");
    c->outputs[0].recipients = 1;
    /* A constant gate reaching past the pool. */
    c->gates[3].aux[0] = 5;
    s_refused_circ(c, NULL, "constant");
    c->gates[3].aux[0] = 0;
    /* Duplicate party names. */
    strcpy(c->party_names[2], "bob");
    s_refused_circ(c, NULL, "twice");
    strcpy(c->party_names[2], "carol");
    /* Restored: accepted again. */
    uint8_t *b;
    size_t n;
    mpc_circuit *d = NULL;
    char err[256];
    s_write(c, &b, &n);
    ck_assert_int_eq(mpc_circ_read(b, n, NULL, &d, err, sizeof err), 0);
    mpc_circ_destroy(&d);
    free(b);
    mpc_circ_destroy(&c);
}
END_TEST

/* Version 2 records the compiler's warning count (field 9); version 1 and 2 files still read
 * (version 1 with the count unknown); the count is not part of the hash. */
START_TEST(test_warnings_field_and_version_1)
{
    mpc_circuit *c = s_sample();
    uint8_t h0[MPC_HASH_BYTES], h1[MPC_HASH_BYTES];
    ck_assert_int_eq(mpc_circ_hash(c, h0), 0);
    c->warnings = 3;
    ck_assert_int_eq(mpc_circ_hash(c, h1), 0);
    ck_assert(memcmp(h0, h1, sizeof h0) == 0);
    uint8_t *b;
    size_t n;
    s_write_v3(c, &b, &n);
    ck_assert_uint_eq(b[n - 1], 0x90);               /* version 3: no local parts */
    ck_assert_uint_eq(b[n - 2], 3);
    mpc_circuit *d = NULL;
    char err[256];
    ck_assert_int_eq(mpc_circ_read(b, n, NULL, &d, err, sizeof err), 0);
    ck_assert_uint_eq(d->warnings, 3);
    mpc_circ_destroy(&d);
    b[n - 2] = 0xa1;                                 /* a str: wrong type */
    s_refused(b, n - 1, NULL, NULL);
    b[n - 2] = 3;
    /* The same circuit as version 2: 10 fields, no local parts. */
    b[0] = 0x9a;
    b[9] = 2;
    ck_assert_int_eq(mpc_circ_read(b, n - 1, NULL, &d, err, sizeof err), 0);
    ck_assert_uint_eq(d->warnings, 3);
    ck_assert_int_eq(mpc_circ_hash(d, h1), 0);
    ck_assert(memcmp(h0, h1, sizeof h0) == 0);
    mpc_circ_destroy(&d);
    n--;
    /* As version 1: 9 fields, no warnings. */
    b[0] = 0x99;
    b[9] = 1;
    ck_assert_int_eq(mpc_circ_read(b, n - 1, NULL, &d, err, sizeof err), 0);
    ck_assert_uint_eq(d->warnings, MPC_CIRC_WARNINGS_UNKNOWN);
    ck_assert_uint_eq(d->n_gates, c->n_gates);
    ck_assert_int_eq(mpc_circ_hash(d, h1), 0);
    ck_assert(memcmp(h0, h1, sizeof h0) == 0);       /* same computation, same hash */
    mpc_circ_destroy(&d);
    s_refused(b, n, NULL, NULL);                     /* version 1 with a 10th field */
    free(b);
    mpc_circ_destroy(&c);
}
END_TEST

/* Hand-built files with the right shape but wrong field types, via the msgpack packer. */
START_TEST(test_wrong_field_types)
{
    for (int variant = 0; variant < 6; variant++) {
        msgpack_sbuffer sb;
        msgpack_packer pk;
        msgpack_sbuffer_init(&sb);
        msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
        msgpack_pack_array(&pk, 9);
        msgpack_pack_str(&pk, 7);
        msgpack_pack_str_body(&pk, "MPCCIRC", 7);
        msgpack_pack_uint32(&pk, 1);
        msgpack_pack_uint32(&pk, 16);
        if (variant == 0) msgpack_pack_nil(&pk);
        else { msgpack_pack_str(&pk, 1); msgpack_pack_str_body(&pk, "s", 1); }
        if (variant == 1) {
            msgpack_pack_map(&pk, 1);
            msgpack_pack_uint32(&pk, 1);
            msgpack_pack_uint32(&pk, 1);
        } else {
            msgpack_pack_array(&pk, 2);
            msgpack_pack_str(&pk, 1); msgpack_pack_str_body(&pk, "a", 1);
            if (variant == 2) msgpack_pack_int32(&pk, -1);
            else { msgpack_pack_str(&pk, 1); msgpack_pack_str_body(&pk, "b", 1); }
        }
        msgpack_pack_array(&pk, 1);                  /* inputs */
        if (variant == 3) {
            msgpack_pack_array(&pk, 6);              /* wrong arity */
            for (int i = 0; i < 6; i++) msgpack_pack_uint32(&pk, 0);
        } else {
            msgpack_pack_array(&pk, 7);
            msgpack_pack_str(&pk, 1); msgpack_pack_str_body(&pk, "x", 1);
            if (variant == 4) msgpack_pack_double(&pk, 0.0);
            else msgpack_pack_uint32(&pk, 0);
            for (int i = 0; i < 5; i++) msgpack_pack_uint32(&pk, i == 1 ? 1 : 0);
        }
        msgpack_pack_array(&pk, 0);                  /* outputs */
        msgpack_pack_bin(&pk, variant == 5 ? 7 : 0);
        msgpack_pack_bin_body(&pk, "\0\0\0\0\0\0\0", variant == 5 ? 7 : 0);
        msgpack_pack_bin(&pk, 48);
        uint8_t rec[48] = {0};
        rec[16] = 1;                                 /* INPUT int[1] */
        msgpack_pack_bin_body(&pk, rec, 48);
        static const char *want[] = {"source name", "parties", "party 1 name", "6 fields",
                                     "input 'x'", "multiple of 8"};
        s_refused((const uint8_t *)sb.data, sb.size, NULL, want[variant]);
        msgpack_sbuffer_destroy(&sb);
    }
}
END_TEST

/* A random msgpack value: any type, nesting up to `depth`. */
static void s_rand_obj(msgpack_packer *pk, int depth)
{
    static uint8_t junk[300];
    for (size_t i = 0; i < sizeof junk; i++) junk[i] = (uint8_t)s_rand();
    switch (s_rand() % (depth > 0 ? 10 : 8)) {
    case 0: msgpack_pack_nil(pk); break;
    case 1: (s_rand() & 1) ? msgpack_pack_true(pk) : msgpack_pack_false(pk); break;
    case 2: msgpack_pack_uint64(pk, s_rand() >> (s_rand() % 64)); break;
    case 3: msgpack_pack_int64(pk, -(int64_t)(s_rand() >> (1 + s_rand() % 63))); break;
    case 4: msgpack_pack_double(pk, 1.5); break;
    case 5: {
        size_t n = s_rand() % 70;
        msgpack_pack_str(pk, n);
        msgpack_pack_str_body(pk, junk, n);
        break;
    }
    case 6: case 7: {
        size_t n = (s_rand() & 1) ? 48 * (s_rand() % 5) : (s_rand() & 1) ? 8 * (s_rand() % 5) : s_rand() % 200;
        msgpack_pack_bin(pk, n);
        msgpack_pack_bin_body(pk, junk, n);
        break;
    }
    case 8: {
        size_t n = s_rand() % 9;
        msgpack_pack_array(pk, n);
        for (size_t i = 0; i < n; i++) s_rand_obj(pk, depth - 1);
        break;
    }
    case 9: {
        size_t n = s_rand() % 4;
        msgpack_pack_map(pk, n);
        for (size_t i = 0; i < 2 * n; i++) s_rand_obj(pk, depth - 1);
        break;
    }
    }
}

/* Valid files with one field (top level, or inside an input/output record) replaced by a
 * random msgpack value: refused cleanly or read as a valid circuit. */
START_TEST(test_random_field_replacement)
{
    mpc_circuit *c = s_sample();
    uint8_t *b;
    size_t n;
    s_write(c, &b, &n);
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t off = 0;
    ck_assert_int_eq(msgpack_unpack_next(&u, (const char *)b, n, &off), MSGPACK_UNPACK_SUCCESS);
    const msgpack_object *top = u.data.via.array.ptr;
    int accepted = 0;
    for (int it = 0; it < 5000; it++) {
        msgpack_sbuffer sb;
        msgpack_packer pk;
        msgpack_sbuffer_init(&sb);
        msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
        int field = 2 + (int)(s_rand() % 10), sub = (int)(s_rand() % 3), subf = (int)(s_rand() % 7);
        int nested = (field == 5 || field == 6) && (s_rand() & 1);
        msgpack_pack_array(&pk, 12);
        for (int k = 0; k < 12; k++) {
            if (k != field) { msgpack_pack_object(&pk, top[k]); continue; }
            if (!nested) { s_rand_obj(&pk, 3); continue; }
            const msgpack_object *arr = &top[k];
            msgpack_pack_array(&pk, arr->via.array.size);
            for (uint32_t r = 0; r < arr->via.array.size; r++) {
                const msgpack_object *rec = &arr->via.array.ptr[r];
                if ((int)r != sub) { msgpack_pack_object(&pk, *rec); continue; }
                msgpack_pack_array(&pk, rec->via.array.size);
                for (uint32_t q = 0; q < rec->via.array.size; q++) {
                    if ((int)q == subf) s_rand_obj(&pk, 1);
                    else msgpack_pack_object(&pk, rec->via.array.ptr[q]);
                }
            }
        }
        mpc_circuit *d = NULL;
        char err[512] = "";
        uint8_t *p = malloc(sb.size);
        memcpy(p, sb.data, sb.size);
        if (mpc_circ_read(p, sb.size, NULL, &d, err, sizeof err) == 0) {
            accepted++;
            ck_assert_int_eq(mpc_circ_validate(d, NULL, err, sizeof err), 0);
            mpc_circ_destroy(&d);
        } else {
            ck_assert_ptr_null(d);
            ck_assert(err[0] != 0);
        }
        free(p);
        msgpack_sbuffer_destroy(&sb);
    }
    /* e.g. a random uint for a line number, or a random string for a source name, passes */
    ck_assert_int_gt(accepted, 0);
    msgpack_unpacked_destroy(&u);
    free(b);
    mpc_circ_destroy(&c);
}
END_TEST

/* Version 3: the local parts (circuits/pushdown.h) round-trip, are covered by the hash, and a
 * file whose local parts break a rule of mpc_circ_validate_locals is refused. */
START_TEST(test_local_parts)
{
    const char *src = "party a, b\ninput u: int[4] from a\ninput v: int[4] from a\ninput y: int from b\n"
                      "output r = dot(u, v) + y, s = sum(u) * y to a, b\n";
    mpc_circuit *c = NULL;
    mpc_diag d;
    ck_assert_int_eq(mpc_compile_ex(src, strlen(src), "l.mpc", NULL, 0, MPC_COMPILE_PUSHDOWN, &c, &d), 0);
    mpc_diag_free(&d);
    ck_assert_uint_eq(c->n_locals, 1);
    ck_assert_uint_eq(c->locals[0]->n_inputs, 2);
    ck_assert_ptr_null(mpc_circ_local_of(c, 1));
    uint8_t *b;
    size_t n;
    s_write(c, &b, &n);
    mpc_circuit *r = NULL;
    char err[512];
    ck_assert_msg(mpc_circ_read(b, n, NULL, &r, err, sizeof err) == 0, "%s", err);
    free(b);
    ck_assert_uint_eq(r->n_locals, 1);
    ck_assert_uint_eq(r->locals[0]->n_gates, c->locals[0]->n_gates);
    uint8_t h0[MPC_HASH_BYTES], h1[MPC_HASH_BYTES];
    ck_assert_int_eq(mpc_circ_hash(c, h0), 0);
    ck_assert_int_eq(mpc_circ_hash(r, h1), 0);
    ck_assert(memcmp(h0, h1, sizeof h0) == 0);
    /* positions inside a local part are not hashed; what it computes is */
    r->locals[0]->gates[0].line += 3;
    ck_assert_int_eq(mpc_circ_hash(r, h1), 0);
    ck_assert(memcmp(h0, h1, sizeof h0) == 0);
    mpc_circuit *L = r->locals[0];
    uint32_t gi = 0;
    while (L->gates[gi].kind != MPC_G_DOT) gi++;
    L->gates[gi].kind = MPC_G_MUL;                   /* still valid: u * v elementwise ... */
    L->gates[gi].len = 4;
    ck_assert_int_ne(mpc_circ_validate(r, NULL, err, sizeof err), 0);   /* ... but not its length */
    L->gates[gi].kind = MPC_G_DOT;
    L->gates[gi].len = 1;
    ck_assert_int_eq(mpc_circ_validate(r, NULL, err, sizeof err), 0);
    uint64_t aux = L->gates[gi].aux[0];
    L->gates[gi].aux[0] = 2;                         /* segments of 2: another computation */
    L->gates[gi].len = 2;
    /* (the derived input's length no longer matches: refused) */
    ck_assert_int_ne(mpc_circ_validate(r, NULL, err, sizeof err), 0);
    L->gates[gi].aux[0] = aux;
    L->gates[gi].len = 1;
    /* an output of the local part that names no input of the circuit */
    char saved[MPC_NAME_MAX];
    strcpy(saved, L->outputs[0].name);
    strcpy(L->outputs[0].name, "nope");
    s_refused_circ(r, NULL, "is no input of the circuit");
    strcpy(L->outputs[0].name, saved);
    /* an output to another party */
    L->outputs[0].recipients = 3;
    s_refused_circ(r, NULL, "goes to another party");
    L->outputs[0].recipients = 1;
    /* an input of another party */
    L->inputs[1].party = 1;
    s_refused_circ(r, NULL, "from another party");
    L->inputs[1].party = 0;
    /* an input that differs from the circuit's input of the same name */
    strcpy(saved, L->inputs[0].name);
    strcpy(L->inputs[0].name, "y");
    s_refused_circ(r, NULL, "differs from the circuit's");
    strcpy(L->inputs[0].name, saved);
    /* two parts for one party, and a part with parts of its own */
    mpc_circuit **two = realloc(r->locals, 2 * sizeof *two);
    ck_assert_ptr_nonnull(two);
    r->locals = two;
    r->locals[1] = L;
    r->n_locals = 2;
    s_refused_circ(r, NULL, "two local parts");
    r->n_locals = 1;
    mpc_circuit *inner[1] = {c->locals[0]};
    L->locals = inner;
    L->n_locals = 1;
    s_write(r, &b, &n);
    L->n_locals = 0;
    L->locals = NULL;
    s_refused(b, n, NULL, "local parts of its own");
    free(b);
    ck_assert_int_eq(mpc_circ_validate(r, NULL, err, sizeof err), 0);
    mpc_circ_destroy(&r);
    mpc_circ_destroy(&c);
}
END_TEST

/* The listing (dump.h) names parties, inputs, outputs and every gate, one line each. */
static mpc_circuit *s_compiled(const char *src)
{
    mpc_circuit *c = NULL;
    mpc_diag d;
    ck_assert_msg(mpc_compile_ex(src, strlen(src), "c.mpc", NULL, 0, 0, &c, &d) == 0, "%s", src);
    mpc_diag_free(&d);
    return c;
}

/* Collection records (format version 7): a contribution program's validity rule is in the
 * file and in the hash.  Before, `in -1..1`, `in -1000..1000`, `, norm <= 2` and `unchecked`
 * compiled to one circuit hash, so an approval of that hash admitted any of them. */
START_TEST(test_collection_records)
{
    /* the first four differ in the rule only; the last adds a derived entry (sum(g * g)) */
    static const char *const rule[] = {"in -1..1", "in -1000..1000", "in -1..1, norm <= 1.5", "unchecked", "in -1..1"};
    uint8_t h[5][MPC_HASH_BYTES];
    for (int i = 0; i < 5; i++) {
        char src[512];
        snprintf(src, sizeof src, "party a, b\ninput g: fix[4] from contributors %s\n"
                 "output n = count(g), t = sum(g)%s to a, b\n", rule[i], i == 4 ? ", q = sum(g * g)" : "");
        mpc_circuit *c = s_compiled(src);
        ck_assert_uint_eq(c->n_contrib, 1);
        ck_assert_int_eq(mpc_circ_hash(c, h[i]), 0);
        for (int k = 0; k < i; k++) ck_assert_msg(memcmp(h[i], h[k], MPC_HASH_BYTES) != 0, "%s and %s: one hash", rule[i], rule[k]);
        uint8_t *b;
        size_t n;
        s_write(c, &b, &n);
        ck_assert_uint_eq(b[9], MPC_CIRC_VERSION_CONTRIB);   /* after the fixarray byte and the magic */
        mpc_circuit *r = NULL;
        char err[512];
        ck_assert_msg(mpc_circ_read(b, n, NULL, &r, err, sizeof err) == 0, "%s", err);
        uint8_t hr[MPC_HASH_BYTES];
        ck_assert_int_eq(mpc_circ_hash(r, hr), 0);
        ck_assert(memcmp(hr, h[i], sizeof hr) == 0);
        const mpc_contrib_decl *x = mpc_circ_contrib(c, "g"), *y = mpc_circ_contrib(r, "g-contrib");
        ck_assert_ptr_nonnull(y);
        ck_assert(x->lo == y->lo && x->hi == y->hi && x->norm == y->norm && x->l2_bound == y->l2_bound &&
                  x->unchecked == y->unchecked && x->max_count == y->max_count && x->n_terms == y->n_terms &&
                  x->n_derived == y->n_derived && !memcmp(x->terms, y->terms, sizeof x->terms));
        ck_assert_uint_eq(y->n_derived, i == 4 ? 4 : 0);
        /* hostile records: refused, naming the record */
        mpc_contrib_decl keep = c->contrib[0];
        c->contrib[0].len = 5;   /* no longer the input's length */
        s_refused_circ(c, NULL, "does not match input 'g-contrib'");
        c->contrib[0] = keep;
        snprintf(c->contrib[0].input, sizeof c->contrib[0].input, "h-contrib");
        s_refused_circ(c, NULL, "its input is not named 'g-contrib'");
        c->contrib[0] = keep;
        c->contrib[0].lo = c->contrib[0].hi + 1;
        s_refused_circ(c, NULL, "collection record 'g' is malformed");
        c->contrib[0] = keep;
        if (i == 4) {
            c->contrib[0].terms[0].a = 3;   /* g[3..6]: past the contribution */
            c->contrib[0].terms[0].b = 3;
            s_refused_circ(c, NULL, "term 0 is outside a contribution");
            c->contrib[0] = keep;
        }
        free(b);
        mpc_circ_destroy(&r);
        mpc_circ_destroy(&c);
    }
    /* a circuit without collections keeps its version and bytes */
    mpc_circuit *c = s_compiled("party a, b\ninput x: int from a\noutput y = x to b\n");
    uint8_t *b;
    size_t n;
    s_write(c, &b, &n);
    ck_assert_uint_eq(b[9], MPC_CIRC_VERSION);
    free(b);
    mpc_circ_destroy(&c);
}
END_TEST

START_TEST(test_dump_listing)
{
    mpc_circuit *c = s_sample();
    char *text = NULL;
    size_t tn = 0;
    FILE *f = open_memstream(&text, &tn);
    ck_assert_ptr_nonnull(f);
    mpc_circ_dump(c, f);
    fclose(f);
    if (getenv("SHOW_DUMP")) fputs(text, stdout);
    ck_assert_ptr_nonnull(strstr(text, "circuit examples/sample.mpc: 22 gates"));
    ck_assert_ptr_nonnull(strstr(text, "parties: alice bob carol\n"));
    ck_assert_ptr_nonnull(strstr(text, "input  y: fix[8] from bob -> w1  @3:7\n"));
    ck_assert_ptr_nonnull(strstr(text, "output vec: fix[9] <- w18 to bob, carol  @31:1\n"));
    ck_assert_ptr_nonnull(strstr(text, "= 1, 2, 3, 4, ... (8 values)"));
    ck_assert_ptr_nonnull(strstr(text, "= 0.5  @"));             /* fix constant, exact */
    ck_assert_ptr_nonnull(strstr(text, "trunc    fix[8]       w10  m=16 l=63  @31:5"));
    ck_assert_ptr_nonnull(strstr(text, "slice    bool[4]      w15  start=1 stride=2"));
    ck_assert_ptr_nonnull(strstr(text, "\nw18     L11  concat   fix[9]       w16, w13  @38:5\n"));
    ck_assert_ptr_nonnull(strstr(text, "output   int[1]       w12 -> sum"));
    int lines = 0;
    for (char *p = text; *p; p++) lines += *p == '\n';
    ck_assert_int_eq(lines, 2 + 3 + 3 + 22);
    free(text);
    /* A corrupted circuit still dumps without following bad indices. */
    c->gates[3].aux[0] = 1000;
    c->gates[5].kind = 99;
    c->inputs[0].party = 40;
    f = open_memstream(&text, &tn);
    mpc_circ_dump(c, f);
    fclose(f);
    ck_assert_ptr_nonnull(strstr(text, "= ?"));
    free(text);
    mpc_circ_destroy(&c);
}
END_TEST

Suite *mpc_test_suite(void)
{
    Suite *s = suite_create("format");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_round_trip_identical_bytes);
    tcase_add_test(tc, test_hash_changes_with_every_field);
    tcase_add_test(tc, test_save_load);
    tcase_add_test(tc, test_truncated_at_every_offset);
    tcase_add_test(tc, test_random_byte_flips);
    tcase_add_test(tc, test_huge_declared_lengths);
    tcase_add_test(tc, test_wrong_magic_version_types);
    tcase_add_test(tc, test_warnings_field_and_version_1);
    tcase_add_test(tc, test_bad_wires_lengths_cycles);
    tcase_add_test(tc, test_wrong_field_types);
    tcase_add_test(tc, test_random_field_replacement);
    tcase_add_test(tc, test_dump_listing);
    tcase_add_test(tc, test_local_parts);
    tcase_add_test(tc, test_collection_records);
    suite_add_tcase(s, tc);
    return s;
}

