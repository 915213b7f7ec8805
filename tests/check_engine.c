/* check_engine.c — the MPC engine against a reference evaluation, for n = 2, 3, 5 over the
 * in-memory transport: every gate kind, random circuits, input modes, recipients, rounds and
 * bytes, truncation error and bias, refusal, failures, and a privacy check on a party's view. */
#include <check.h>
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runner.h"
#include "enginetest.h"
#include "mpc_err.h"
#include "prg.h"

/* ---- the plain reference evaluator (enginetest.c) ---- */

static uint64_t s_floor_shift(uint64_t x, unsigned m)
{
    /* floor(x / 2^m) for x as two's complement, without signed shifts */
    uint64_t sign = x >> 63;
    uint64_t r = x >> m;
    if (sign) r |= ~(UINT64_MAX >> m);
    return r;
}

static void s_ref(const mpc_circuit *c, const uint64_t *const *in, uint64_t **outs)
{
    et_ref(c, in, outs);
}

static mpc_circuit *s_parties(uint32_t n)
{
    mpc_circuit *c = mpc_circ_new();
    char name[16];
    for (uint32_t p = 0; p < n; p++) {
        snprintf(name, sizeof name, "p%u", (unsigned)p);
        ck_assert_int_eq(mpc_circ_add_party(c, name), (int)p);
    }
    return c;
}

static uint64_t *s_randvec(uint64_t n)
{
    uint64_t *v = malloc(n * 8);
    randombytes_buf(v, n * 8);
    return v;
}

/* Runs c on vals and compares every output with the reference exactly; checks that only
 * recipients got values and that shares sum to the value. */
/* Overwrite the inputs as soon as the engine says it has read them (mpc_engine_opts.inputs_read). */
static int s_scrub;

/* apart: mpc_engine_opts.cmp_apart (0: the default, which these circuits stay under).
 * Returns the parts party 0 ran apart. */
static uint32_t s_check_exact_apart(const mpc_circuit *c, const uint64_t *const *vals, int dealer, uint64_t apart)
{
    et_job j;
    memset(&j, 0, sizeof j);
    j.c = c;
    j.use_dealer = dealer;
    j.cmp_apart = apart;
    j.scrub_inputs = s_scrub;
    j.job = 77;
    randombytes_buf(j.master, sizeof j.master);
    et_plain_inputs(&j, vals);
    ck_assert_int_eq(et_run(&j), 0);
    uint64_t *ref[8] = {0};
    s_ref(c, vals, ref);
    for (uint32_t p = 0; p < c->n_parties; p++) {
        ck_assert_msg(j.rc[p] == 0, "party %u: %s", p, j.err[p]);
        ck_assert_msg(j.open_rc[p] == 0, "party %u open: %s", p, j.err[p]);
        ck_assert_int_eq(j.inputs_read[p], 1);   /* once per run */
    }
    if (dealer) ck_assert_msg(j.dealer_rc == 0, "dealer: %s", j.dealer_err);
    for (uint32_t o = 0; o < c->n_outputs && o < 8; o++) {
        uint64_t len = c->outputs[o].len;
        for (uint64_t k = 0; k < len; k++) {
            uint64_t s = 0;
            for (uint32_t p = 0; p < c->n_parties; p++) s += j.share[p][o][k];
            ck_assert_msg(s == ref[o][k], "output %u element %llu: %llu, expected %llu (%u parties)",
                          (unsigned)o, (unsigned long long)k, (unsigned long long)s,
                          (unsigned long long)ref[o][k], (unsigned)c->n_parties);
        }
        for (uint32_t p = 0; p < c->n_parties; p++) {
            if (c->outputs[o].recipients & (1u << p)) {
                ck_assert_ptr_nonnull(j.value[p][o]);
                ck_assert_int_eq(memcmp(j.value[p][o], ref[o], len * 8), 0);
            } else {
                ck_assert_ptr_null(j.value[p][o]);
            }
        }
        free(ref[o]);
    }
    /* messages received: one key message from every peer, one per peer per round (and the
     * dealer's reply per round), and one
     * per peer for each output this party receives — a non-recipient receives nothing.
     * Batches run apart add their own messages and requests, and may leave rounds empty. */
    for (uint32_t p = 0; p < c->n_parties && !apart; p++) {
        uint64_t want = (uint64_t)(c->rounds + 1) * (c->n_parties - 1);
        if (dealer) want += et_fetch_layers(c);   /* one dealer reply per layer's batch */
        for (uint32_t o = 0; o < c->n_outputs; o++)
            if (c->outputs[o].recipients & (1u << p)) want += c->n_parties - 1;
        ck_assert_uint_eq(j.st[p].msgs_recv, want);
    }
    /* triples and square pairs handed out = those the circuit needs */
    mpc_circ_stats cs;
    mpc_circ_stats_get(c, &cs);
    for (uint32_t p = 0; p < c->n_parties; p++) {
        ck_assert_uint_eq(j.st[p].triples, cs.triples);
        ck_assert_uint_eq(j.prep_triples[p], cs.triples);
        ck_assert_uint_eq(j.st[p].squares, cs.squares);
        ck_assert_uint_eq(j.prep_squares[p], cs.squares);
        if (!apart) ck_assert_uint_eq(j.st[p].rounds, c->rounds);
        ck_assert_uint_le(j.st[p].rounds, c->rounds);
        ck_assert_uint_eq(j.st[p].apart_rounds, 8 * j.st[p].apart_parts);
        ck_assert_uint_eq(j.st[p].comparisons, cs.comparisons);
        ck_assert_uint_eq(j.st[p].edabits, cs.comparisons);
        ck_assert_uint_eq(j.st[p].dabits, cs.comparisons);
    }
    uint32_t parts = j.st[0].apart_parts;
    et_clear(&j);
    return parts;
}

static void s_check_exact(const mpc_circuit *c, const uint64_t *const *vals, int dealer)
{
    ck_assert_uint_eq(s_check_exact_apart(c, vals, dealer, 0), 0);
}

static const uint32_t s_ns[] = {2, 3, 5};

/* Every gate kind the engine runs, with broadcast operands and partial recipients; squares
 * (a MUL and a DOT, plain and in segments, of a wire with itself) share their rounds with
 * products. */
static mpc_circuit *s_all_gates(uint32_t n, uint64_t L)
{
    mpc_circuit *c = s_parties(n);
    uint32_t x = mpc_circ_add_input(c, "x", 0, MPC_T_INT, L, 1, 1);
    uint32_t y = mpc_circ_add_input(c, "y", n - 1, MPC_T_INT, L, 2, 1);
    uint32_t s = mpc_circ_add_input(c, "s", 1, MPC_T_INT, 1, 3, 1);
    uint64_t kv[2] = {7, (uint64_t)-3};
    uint32_t k1 = mpc_circ_add_const(c, MPC_T_INT, kv, 1, 4, 1);
    uint32_t k2 = mpc_circ_add_const(c, MPC_T_INT, kv + 1, 1, 4, 1);
    uint32_t a = mpc_circ_add_gate(c, MPC_G_ADD_PUB, MPC_T_INT, L, x, k1, MPC_NO_WIRE, 0, 0, 5, 1);
    uint32_t b = mpc_circ_add_gate(c, MPC_G_MUL_PUB, MPC_T_INT, L, y, k2, MPC_NO_WIRE, 0, 0, 6, 1);
    uint32_t m = mpc_circ_add_gate(c, MPC_G_MUL, MPC_T_INT, L, a, b, MPC_NO_WIRE, 0, 0, 7, 1);
    uint32_t ms = mpc_circ_add_gate(c, MPC_G_MUL, MPC_T_INT, L, s, x, MPC_NO_WIRE, 0, 0, 8, 1);
    uint32_t d = mpc_circ_add_gate(c, MPC_G_DOT, MPC_T_INT, 1, x, y, MPC_NO_WIRE, 0, 0, 9, 1);
    uint32_t dq = mpc_circ_add_gate(c, MPC_G_DOT, MPC_T_INT, 1, a, a, MPC_NO_WIRE, 0, 0, 9, 2);
    uint32_t ds = mpc_circ_add_gate(c, MPC_G_DOT, MPC_T_INT, (L + 4) / 5, y, y, MPC_NO_WIRE, 5, 0, 9, 3);
    uint32_t sel = mpc_circ_add_gate(c, MPC_G_SELECT, MPC_T_INT, L, s, m, y, 0, 0, 10, 1);
    uint32_t ng = mpc_circ_add_gate(c, MPC_G_NEG, MPC_T_INT, L, sel, MPC_NO_WIRE, MPC_NO_WIRE, 0, 0, 11, 1);
    uint32_t sb = mpc_circ_add_gate(c, MPC_G_SUB, MPC_T_INT, L, ng, ms, MPC_NO_WIRE, 0, 0, 12, 1);
    uint32_t ad = mpc_circ_add_gate(c, MPC_G_ADD, MPC_T_INT, L, sb, d, MPC_NO_WIRE, 0, 0, 13, 1);
    uint32_t sm = mpc_circ_add_gate(c, MPC_G_SUM, MPC_T_INT, 1, ad, MPC_NO_WIRE, MPC_NO_WIRE, 0, 0, 14, 1);
    uint32_t cc = mpc_circ_add_gate(c, MPC_G_CONCAT, MPC_T_INT, 2 * L, ad, m, MPC_NO_WIRE, 0, 0, 15, 1);
    uint32_t sl = mpc_circ_add_gate(c, MPC_G_SLICE, MPC_T_INT, L, cc, MPC_NO_WIRE, MPC_NO_WIRE, 1, 2, 16, 1);
    uint32_t m2 = mpc_circ_add_gate(c, MPC_G_MUL, MPC_T_INT, L, sl, sm, MPC_NO_WIRE, 0, 0, 17, 1);
    uint32_t q1 = mpc_circ_add_gate(c, MPC_G_MUL, MPC_T_INT, L, sl, sl, MPC_NO_WIRE, 0, 0, 17, 2);
    uint32_t q2 = mpc_circ_add_gate(c, MPC_G_MUL, MPC_T_INT, 1, dq, dq, MPC_NO_WIRE, 0, 0, 17, 3);
    uint32_t qc = mpc_circ_add_gate(c, MPC_G_CONCAT, MPC_T_INT, L + 1, q1, q2, MPC_NO_WIRE, 0, 0, 17, 4);
    uint32_t qs = mpc_circ_add_gate(c, MPC_G_CONCAT, MPC_T_INT, L + 1 + (L + 4) / 5, qc, ds, MPC_NO_WIRE, 0, 0, 17, 5);
    ck_assert_int_ge(mpc_circ_add_output(c, "all", m2, (1u << n) - 1, 18, 1), 0);
    ck_assert_int_ge(mpc_circ_add_output(c, "squares", qs, (1u << n) - 1, 18, 2), 0);
    ck_assert_int_ge(mpc_circ_add_output(c, "first", ad, 1u, 19, 1), 0);
    ck_assert_int_ge(mpc_circ_add_output(c, "last", sm, 1u << (n - 1), 20, 1), 0);
    char err[256];
    ck_assert_msg(mpc_circ_finish(c, err, sizeof err) == 0, "%s", err);
    return c;
}

START_TEST(test_all_gates)
{
    for (int dealer = 0; dealer < 2; dealer++)
        for (size_t i = 0; i < 3; i++) {
            uint32_t n = s_ns[i];
            uint64_t lens[2] = {1, 37};
            for (int li = 0; li < 2; li++) {
                mpc_circuit *c = s_all_gates(n, lens[li]);
                mpc_circ_stats cs;
                mpc_circ_stats_get(c, &cs);
                ck_assert_uint_eq(cs.squares, 3 * lens[li] + 1);   /* a·a, y·y, sl·sl, dq·dq */
                uint64_t *x = s_randvec(lens[li]), *y = s_randvec(lens[li]);
                uint64_t s = et_rand64() & 1;
                const uint64_t *vals[3] = {x, y, &s};
                s_check_exact(c, vals, dealer);
                free(x);
                free(y);
                mpc_circ_destroy(&c);
            }
        }
}
END_TEST

/* Openings in slices (engine.h, slice_words): with slices of 7 words every round of the
 * all-gates circuit (L = 300: up to 1,800 words) and of a random circuit travels as many
 * messages per peer, more than the send window ahead; the results stay exact, the bytes
 * opened are those of one message per round, and every message but a round's last
 * carries exactly 7 words. */
START_TEST(test_sliced_openings)
{
    for (size_t i = 0; i < 3; i++) {
        uint32_t n = s_ns[i];
        uint64_t L = 300;
        mpc_circuit *c = s_all_gates(n, L);
        uint64_t *x = s_randvec(L), *y = s_randvec(L), s = et_rand64() & 1;
        const uint64_t *vals[3] = {x, y, &s};
        uint64_t bytes[2] = {0, 0}, msgs[2] = {0, 0};
        for (int sliced = 0; sliced < 2; sliced++) {
            et_job j;
            memset(&j, 0, sizeof j);
            j.c = c;
            j.job = 78;
            j.no_open = 1;
            j.slice_words = sliced ? 7 : 0;
            randombytes_buf(j.master, sizeof j.master);
            et_plain_inputs(&j, vals);
            ck_assert_int_eq(et_run(&j), 0);
            uint64_t *ref[8] = {0};
            s_ref(c, vals, ref);
            for (uint32_t p = 0; p < n; p++) ck_assert_msg(j.rc[p] == 0, "party %u: %s", p, j.err[p]);
            for (uint32_t o = 0; o < c->n_outputs; o++) {
                for (uint64_t k = 0; k < c->outputs[o].len; k++) {
                    uint64_t v = 0;
                    for (uint32_t p = 0; p < n; p++) v += j.share[p][o][k];
                    ck_assert_uint_eq(v, ref[o][k]);
                }
                free(ref[o]);
            }
            bytes[sliced] = j.st[0].open_bytes_sent;
            msgs[sliced] = j.st[0].msgs_sent;
            et_clear(&j);
        }
        ck_assert_uint_eq(bytes[0], bytes[1]);
        /* per peer: words W_r of round r go in ceil(W_r / 7) messages instead of one */
        ck_assert_uint_gt(msgs[1], msgs[0] + 8 * (n - 1) * c->rounds);
        free(x);
        free(y);
        mpc_circ_destroy(&c);
    }
}
END_TEST

/* A random circuit over wires of length L or 1 (int, exact). */
static mpc_circuit *s_random_circuit(uint32_t n, uint64_t L, int gates, uint64_t ***vals_out)
{
    mpc_circuit *c = s_parties(n);
    uint32_t pool[256], np = 0;
    uint32_t ninp = 2 + (uint32_t)(et_rand64() % 3);
    uint64_t **vals = calloc(ninp, sizeof *vals);
    for (uint32_t k = 0; k < ninp; k++) {
        char name[16];
        snprintf(name, sizeof name, "i%u", (unsigned)k);
        uint64_t len = (et_rand64() % 4 == 0) ? 1 : L;
        pool[np++] = mpc_circ_add_input(c, name, (uint32_t)(et_rand64() % n), MPC_T_INT, len, k + 1, 1);
        vals[k] = s_randvec(len);
    }
    for (int gi = 0; gi < gates; gi++) {
        uint32_t x = pool[et_rand64() % np], y = pool[et_rand64() % np], z = pool[et_rand64() % np];
        uint64_t lx = c->gates[x].len, ly = c->gates[y].len, lz = c->gates[z].len;
        uint64_t lo = lx > ly ? lx : ly;
        uint32_t line = 100 + (uint32_t)gi, w = MPC_NO_WIRE;
        switch (et_rand64() % 12) {
        case 0: w = mpc_circ_add_gate(c, MPC_G_ADD, MPC_T_INT, lo, x, y, MPC_NO_WIRE, 0, 0, line, 1); break;
        case 1: w = mpc_circ_add_gate(c, MPC_G_SUB, MPC_T_INT, lo, x, y, MPC_NO_WIRE, 0, 0, line, 1); break;
        case 2: w = mpc_circ_add_gate(c, MPC_G_NEG, MPC_T_INT, lx, x, MPC_NO_WIRE, MPC_NO_WIRE, 0, 0, line, 1); break;
        case 3: {
            uint64_t k = et_rand64();
            uint32_t kc = mpc_circ_add_const(c, MPC_T_INT, &k, 1, line, 1);
            w = mpc_circ_add_gate(c, et_rand64() & 1 ? MPC_G_ADD_PUB : MPC_G_MUL_PUB, MPC_T_INT, lx, x,
                                  kc, MPC_NO_WIRE, 0, 0, line, 1);
            break;
        }
        case 4: w = mpc_circ_add_gate(c, MPC_G_MUL, MPC_T_INT, lo, x, y, MPC_NO_WIRE, 0, 0, line, 1); break;
        case 5: w = mpc_circ_add_gate(c, MPC_G_MUL, MPC_T_INT, lx, x, x, MPC_NO_WIRE, 0, 0, line, 1); break;
        case 6: w = mpc_circ_add_gate(c, MPC_G_SUM, MPC_T_INT, 1, x, MPC_NO_WIRE, MPC_NO_WIRE, 0, 0, line, 1); break;
        case 7:   /* half of them squares dot(x, x) */
            if (et_rand64() & 1) y = x, ly = lx;
            if (lx != ly) continue;
            w = mpc_circ_add_gate(c, MPC_G_DOT, MPC_T_INT, 1, x, y, MPC_NO_WIRE, 0, 0, line, 1);
            break;
        case 8: {
            uint64_t ls = lo > lz ? lo : lz;
            w = mpc_circ_add_gate(c, MPC_G_SELECT, MPC_T_INT, ls, z, x, y, 0, 0, line, 1);
            break;
        }
        case 9: {
            uint32_t cc = mpc_circ_add_gate(c, MPC_G_CONCAT, MPC_T_INT, lx + ly, x, y, MPC_NO_WIRE, 0, 0, line, 1);
            w = mpc_circ_add_gate(c, MPC_G_SLICE, MPC_T_INT, lx, cc, MPC_NO_WIRE, MPC_NO_WIRE,
                                  (lx + ly) - lx, 1, line, 1);
            break;
        }
        case 10:   /* comparisons overlap the other gates' rounds */
            w = mpc_circ_add_gate(c, MPC_G_LTZ, MPC_T_BOOL, lx, x, MPC_NO_WIRE, MPC_NO_WIRE, 0, 0, line, 1);
            break;
        case 11: {   /* x or 0, so that both answers occur */
            uint64_t k = et_rand64() & 1;
            uint32_t kc = mpc_circ_add_const(c, MPC_T_INT, &k, 1, line, 1);
            uint32_t m = mpc_circ_add_gate(c, MPC_G_MUL_PUB, MPC_T_INT, lx, x, kc, MPC_NO_WIRE, 0, 0, line, 1);
            w = mpc_circ_add_gate(c, MPC_G_EQZ, MPC_T_BOOL, lx, m, MPC_NO_WIRE, MPC_NO_WIRE, 0, 0, line, 1);
            break;
        }
        }
        if (np < 256) pool[np++] = w;
    }
    for (int o = 0; o < 3; o++) {
        char name[16];
        snprintf(name, sizeof name, "o%d", o);
        uint32_t rec = (uint32_t)(et_rand64() % ((1u << n) - 1)) + 1;
        /* mpc_circ_add_output reads its source gate after growing the gate array (a
         * use-after-free in circuits/circuit.c): make sure it does not grow there */
        if (c->n_gates == c->cap_gates)
            (void)mpc_circ_add_gate(c, MPC_G_NEG, MPC_T_INT, c->gates[pool[0]].len, pool[0], MPC_NO_WIRE,
                                    MPC_NO_WIRE, 0, 0, 499, 1);
        ck_assert_int_ge(mpc_circ_add_output(c, name, pool[np - 1 - (uint32_t)o], rec, 500, 1), 0);
    }
    char err[256];
    ck_assert_msg(mpc_circ_finish(c, err, sizeof err) == 0, "%s", err);
    *vals_out = vals;
    return c;
}

/* reps random circuits for each number of parties, each checked exact with comparison
 * batches run apart in parts of 1..apart_max elements (0: the default, which they stay
 * under) and the inputs overwritten once read when scrub is set; the parts run apart. */
static uint32_t s_random_runs(int reps, uint64_t apart_max, int scrub)
{
    uint32_t parts = 0;
    s_scrub = scrub;
    for (size_t i = 0; i < 3; i++)
        for (int rep = 0; rep < reps; rep++) {
            uint64_t **vals;
            mpc_circuit *c = s_random_circuit(s_ns[i], 1 + et_rand64() % 50, 30, &vals);
            uint64_t apart = apart_max ? 1 + et_rand64() % apart_max : 0;
            parts += s_check_exact_apart(c, (const uint64_t *const *)vals, rep & 1, apart);
            for (uint32_t k = 0; k < c->n_inputs; k++) free(vals[k]);
            free(vals);
            mpc_circ_destroy(&c);
        }
    s_scrub = 0;
    return parts;
}

START_TEST(test_random_circuits)
{
    ck_assert_uint_eq(s_random_runs(8, 0, 0), 0);
}
END_TEST

/* The same with comparison batches run apart in parts of 1..40 elements (engine.h,
 * cmp_apart): batches of up to 40 elements stay in flight beside the others, so both kinds
 * meet in one circuit; still exact. */
START_TEST(test_random_circuits_apart)
{
    ck_assert_uint_gt(s_random_runs(6, 40, 0), 18);   /* more than one part per circuit on average */
}
END_TEST

/* mpc_engine_opts.inputs_read comes once per run, after the engine has read every input: the
 * random circuits give the same results with every party's inputs overwritten then. */
START_TEST(test_inputs_read_then_scrubbed)
{
    s_random_runs(4, 0, 1);
}
END_TEST

/* A chain of d multiplications on vectors of length L: exactly d rounds, 16(n-1)·L·d bytes
 * of opening payload sent per party. */
START_TEST(test_rounds_and_bytes)
{
    for (size_t i = 0; i < 3; i++) {
        uint32_t n = s_ns[i];
        for (uint32_t d = 1; d <= 4; d++) {
            uint64_t L = 100;
            mpc_circuit *c = s_parties(n);
            uint32_t x = mpc_circ_add_input(c, "x", 0, MPC_T_INT, L, 1, 1);
            uint32_t y = mpc_circ_add_input(c, "y", 1, MPC_T_INT, L, 1, 1);
            uint32_t w = x;
            for (uint32_t k = 0; k < d; k++)
                w = mpc_circ_add_gate(c, MPC_G_MUL, MPC_T_INT, L, w, y, MPC_NO_WIRE, 0, 0, 2, 1);
            ck_assert_int_ge(mpc_circ_add_output(c, "o", w, 1, 3, 1), 0);
            char err[256];
            ck_assert_int_eq(mpc_circ_finish(c, err, sizeof err), 0);
            ck_assert_uint_eq(c->rounds, d);
            uint64_t *xv = s_randvec(L), *yv = s_randvec(L);
            const uint64_t *vals[2] = {xv, yv};
            et_job j;
            memset(&j, 0, sizeof j);
            j.c = c;
            j.job = 5;
            j.no_open = 1;
            et_plain_inputs(&j, vals);
            ck_assert_int_eq(et_run(&j), 0);
            for (uint32_t p = 0; p < n; p++) {
                ck_assert_msg(j.rc[p] == 0, "%s", j.err[p]);
                ck_assert_uint_eq(j.st[p].rounds, d);
                ck_assert_uint_eq(j.st[p].open_bytes_sent, 16ull * (n - 1) * L * d);
                ck_assert_uint_eq(j.st[p].open_bytes_recv, 16ull * (n - 1) * L * d);
                ck_assert_uint_eq(j.st[p].triples, L * d);
                /* messages: d opening rounds to each peer, plus one key message per peer
                 * (the 32-byte zero-sharing key) */
                ck_assert_uint_eq(j.st[p].msgs_sent, (uint64_t)(d + 1) * (n - 1));
                ck_assert_uint_eq(j.st[p].bytes_sent, 16ull * (n - 1) * L * d +
                                  j.st[p].msgs_sent * MPC_MEM_HDR_BYTES + (n - 1) * 32);
            }
            et_clear(&j);
            free(xv);
            free(yv);
            mpc_circ_destroy(&c);
        }
    }
}
END_TEST

/* Squares: a chain of d squarings x ← x·x (and one dot(x, x) beside the last) on vectors of
 * length L opens d = x − a only: 8(n−1) bytes per square per party (half a product's 16(n−1)),
 * d rounds, square pairs and no triple, exact against the reference; dealer and local
 * source. */
START_TEST(test_square_rounds_and_bytes)
{
    for (size_t i = 0; i < 3; i++) {
        uint32_t n = s_ns[i];
        for (uint32_t d = 1; d <= 3; d++) {
            uint64_t L = 100;
            mpc_circuit *c = s_parties(n);
            uint32_t x = mpc_circ_add_input(c, "x", n - 1, MPC_T_INT, L, 1, 1);
            uint32_t w = x, prev = x;
            for (uint32_t k = 0; k < d; k++) {
                prev = w;
                w = mpc_circ_add_gate(c, MPC_G_MUL, MPC_T_INT, L, w, w, MPC_NO_WIRE, 0, 0, 2, 1);
            }
            uint32_t dt = mpc_circ_add_gate(c, MPC_G_DOT, MPC_T_INT, 1, prev, prev, MPC_NO_WIRE, 0, 0, 3, 1);
            ck_assert_int_ge(mpc_circ_add_output(c, "o", w, 1, 4, 1), 0);
            ck_assert_int_ge(mpc_circ_add_output(c, "s", dt, (1u << n) - 1, 4, 2), 0);
            char err[256];
            ck_assert_int_eq(mpc_circ_finish(c, err, sizeof err), 0);
            ck_assert_uint_eq(c->rounds, d);
            mpc_circ_stats cs;
            mpc_circ_stats_get(c, &cs);
            ck_assert_uint_eq(cs.triples, 0);
            ck_assert_uint_eq(cs.squares, L * (d + 1));
            ck_assert_uint_eq(cs.opened_elems, L * (d + 1));
            uint64_t *xv = s_randvec(L);
            const uint64_t *vals[1] = {xv};
            et_job j;
            memset(&j, 0, sizeof j);
            j.c = c;
            j.job = 6;
            j.no_open = 1;
            j.use_dealer = d == 2;
            randombytes_buf(j.master, sizeof j.master);
            et_plain_inputs(&j, vals);
            ck_assert_int_eq(et_run(&j), 0);
            for (uint32_t p = 0; p < n; p++) {
                ck_assert_msg(j.rc[p] == 0, "%s", j.err[p]);
                ck_assert_uint_eq(j.st[p].rounds, d);
                ck_assert_uint_eq(j.st[p].open_bytes_sent, 8ull * (n - 1) * L * (d + 1));
                ck_assert_uint_eq(j.st[p].open_bytes_recv, 8ull * (n - 1) * L * (d + 1));
                ck_assert_uint_eq(j.st[p].triples, 0);
                ck_assert_uint_eq(j.st[p].squares, L * (d + 1));
                ck_assert_uint_eq(j.prep_squares[p], L * (d + 1));
                /* d openings and the key message to each peer; with a dealer, a request
                 * (header and groups) per layer's batch */
                ck_assert_uint_eq(j.st[p].msgs_sent, (uint64_t)(d + 1) * (n - 1) +
                                  (j.use_dealer ? 2 * et_fetch_layers(c) : 0));
            }
            uint64_t *ref[2] = {0};
            s_ref(c, vals, ref);
            for (uint32_t o = 0; o < 2; o++)
                for (uint64_t k = 0; k < c->outputs[o].len; k++) {
                    uint64_t s = 0;
                    for (uint32_t p = 0; p < n; p++) s += j.share[p][o][k];
                    ck_assert_uint_eq(s, ref[o][k]);
                }
            free(ref[0]);
            free(ref[1]);
            et_clear(&j);
            free(xv);
            mpc_circ_destroy(&c);
        }
    }
}
END_TEST

/* One layer of 10^6 multiplications is one round (dealer for n = 2, local source for n = 3). */
START_TEST(test_million)
{
    for (int v = 0; v < 2; v++) {
        uint32_t n = v ? 3 : 2;
        uint64_t L = 1000000;
        mpc_circuit *c = s_parties(n);
        uint32_t x = mpc_circ_add_input(c, "x", 0, MPC_T_INT, L, 1, 1);
        uint32_t y = mpc_circ_add_input(c, "y", n - 1, MPC_T_INT, L, 1, 1);
        uint32_t m = mpc_circ_add_gate(c, MPC_G_MUL, MPC_T_INT, L, x, y, MPC_NO_WIRE, 0, 0, 2, 1);
        ck_assert_int_ge(mpc_circ_add_output(c, "o", m, 1, 3, 1), 0);
        char err[256];
        ck_assert_int_eq(mpc_circ_finish(c, err, sizeof err), 0);
        uint64_t *xv = s_randvec(L), *yv = s_randvec(L);
        const uint64_t *vals[2] = {xv, yv};
        et_job j;
        memset(&j, 0, sizeof j);
        j.c = c;
        j.job = 9;
        j.use_dealer = !v;
        j.timeout_ms = 30000;
        randombytes_buf(j.master, 32);
        et_plain_inputs(&j, vals);
        ck_assert_int_eq(et_run(&j), 0);
        for (uint32_t p = 0; p < n; p++) {
            ck_assert_msg(j.rc[p] == 0 && j.open_rc[p] == 0, "%s", j.err[p]);
            ck_assert_uint_eq(j.st[p].rounds, 1);
            ck_assert_uint_eq(j.st[p].open_bytes_sent, 16ull * (n - 1) * L);
        }
        for (uint64_t k = 0; k < L; k++)
            if (j.value[0][0][k] != xv[k] * yv[k]) ck_abort_msg("element %llu wrong", (unsigned long long)k);
        ck_assert_ptr_null(j.value[1][0]);
        et_clear(&j);
        free(xv);
        free(yv);
        mpc_circ_destroy(&c);
    }
}
END_TEST

/* SHARE and SEED inputs (a client's compressed sharing), with the explicit share on any
 * party: x's on party 0 (seeds for 1..n−1), y's on party n−1 (et_plain_inputs). */
START_TEST(test_input_modes)
{
    for (size_t i = 0; i < 3; i++) {
        uint32_t n = s_ns[i];
        uint64_t L = 33;
        mpc_circuit *c = s_parties(n);
        uint32_t x = mpc_circ_add_input(c, "x", 0, MPC_T_INT, L, 1, 1);
        uint32_t y = mpc_circ_add_input(c, "y", 1, MPC_T_INT, L, 1, 1);
        uint32_t m = mpc_circ_add_gate(c, MPC_G_MUL, MPC_T_INT, L, x, y, MPC_NO_WIRE, 0, 0, 2, 1);
        ck_assert_int_ge(mpc_circ_add_output(c, "o", m, (1u << n) - 1, 3, 1), 0);
        char err[256];
        ck_assert_int_eq(mpc_circ_finish(c, err, sizeof err), 0);
        uint64_t *xv = s_randvec(L), *yv = s_randvec(L);
        /* client: seeds for parties 1..n-1, an explicit share for party 0 */
        uint8_t seeds[16][32];
        uint64_t *sh0 = malloc(L * 8), *tmp = malloc(L * 8);
        memcpy(sh0, xv, L * 8);
        for (uint32_t p = 1; p < n; p++) {
            randombytes_buf(seeds[p], 32);
            ck_assert_int_eq(mpc_prg_expand(tmp, L, seeds[p], MPC_PRG_STREAM(MPC_PRG_D_CLIENT, 0), 0), 0);
            for (uint64_t k = 0; k < L; k++) sh0[k] -= tmp[k];
        }
        const uint64_t *vals[2] = {xv, yv};
        et_job j;
        memset(&j, 0, sizeof j);
        j.c = c;
        j.job = 11;
        randombytes_buf(j.master, 32);
        et_plain_inputs(&j, vals);
        j.in[0][0] = (mpc_engine_input){.mode = MPC_IN_SHARE, .values = sh0, .len = L};
        for (uint32_t p = 1; p < n; p++)
            j.in[p][0] = (mpc_engine_input){.mode = MPC_IN_SEED, .seed = seeds[p]};
        ck_assert_int_eq(et_run(&j), 0);
        for (uint32_t p = 0; p < n; p++) {
            ck_assert_msg(j.rc[p] == 0 && j.open_rc[p] == 0, "%s", j.err[p]);
            for (uint64_t k = 0; k < L; k++) ck_assert_uint_eq(j.value[p][0][k], xv[k] * yv[k]);
        }
        /* everyone sends one key message (32 bytes), one opening and one output message per
         * peer, whoever owns an input: the parties share no inputs among themselves */
        for (uint32_t p = 0; p < n; p++) {
            ck_assert_uint_eq(j.st[p].msgs_sent, 3ull * (n - 1));
            ck_assert_uint_eq(j.st[p].bytes_sent, (n - 1) * (3 * MPC_MEM_HDR_BYTES + 32 + 16 * L + 8 * L));
        }
        et_clear(&j);
        free(xv); free(yv); free(sh0); free(tmp);
        mpc_circ_destroy(&c);
    }
}
END_TEST

/* ---- truncation ---- */

/* TRUNC(m, l) of L random x with |x| < 2^(l-1), including the extremes: every result is
 * floor(x/2^m) or floor + 1. */
static void s_trunc_run(uint32_t n, uint32_t m, uint32_t l, const uint64_t *xv, uint64_t L,
                        uint64_t *res)
{
    mpc_circuit *c = s_parties(n);
    uint32_t x = mpc_circ_add_input(c, "x", 0, MPC_T_FIX, L, 1, 1);
    uint32_t t = mpc_circ_add_gate(c, MPC_G_TRUNC, MPC_T_FIX, L, x, MPC_NO_WIRE, MPC_NO_WIRE, m, l, 2, 1);
    ck_assert_int_ge(mpc_circ_add_output(c, "o", t, 1, 3, 1), 0);
    char err[256];
    ck_assert_msg(mpc_circ_finish(c, err, sizeof err) == 0, "%s", err);
    const uint64_t *vals[1] = {xv};
    et_job j;
    memset(&j, 0, sizeof j);
    j.c = c;
    j.job = 13;
    j.use_dealer = n == 3;
    randombytes_buf(j.master, 32);
    et_plain_inputs(&j, vals);
    ck_assert_int_eq(et_run(&j), 0);
    for (uint32_t p = 0; p < n; p++) {
        ck_assert_msg(j.rc[p] == 0 && j.open_rc[p] == 0, "%s", j.err[p]);
        ck_assert_uint_eq(j.st[p].rounds, 1);
        ck_assert_uint_eq(j.st[p].open_bytes_sent, 8ull * (n - 1) * L);
        ck_assert_uint_eq(j.st[p].trunc, L);
    }
    memcpy(res, j.value[0][0], L * 8);
    et_clear(&j);
    mpc_circ_destroy(&c);
}

/* Truncations run apart (engine.h, cmp_apart): three TRUNC gates of one layer (two with
 * the same m, l around one without, so a part's request has several groups) in parts of 700
 * elements that cross the gates' boundaries, beside a product of the same layer, which then
 * runs as a sliced round of products; every result floor or floor + 1, the product exact,
 * the material held at once under half of the round's with the tuples in it. */
START_TEST(test_trunc_apart)
{
    const uint64_t L = 3000, P = 700;
    for (size_t i = 0; i < 2; i++) {
        uint32_t n = s_ns[i];
        mpc_circuit *c = s_parties(n);
        uint32_t x = mpc_circ_add_input(c, "x", 0, MPC_T_FIX, L, 1, 1);
        uint32_t y = mpc_circ_add_input(c, "y", n - 1, MPC_T_FIX, L, 2, 1);
        uint32_t t1 = mpc_circ_add_gate(c, MPC_G_TRUNC, MPC_T_FIX, L, x, MPC_NO_WIRE, MPC_NO_WIRE, 16, 63, 3, 1);
        uint32_t t2 = mpc_circ_add_gate(c, MPC_G_TRUNC, MPC_T_FIX, L, y, MPC_NO_WIRE, MPC_NO_WIRE, 5, 10, 4, 1);
        uint32_t t3 = mpc_circ_add_gate(c, MPC_G_TRUNC, MPC_T_FIX, L, y, MPC_NO_WIRE, MPC_NO_WIRE, 16, 63, 5, 1);
        uint32_t z = mpc_circ_add_gate(c, MPC_G_MUL, MPC_T_INT, L, x, y, MPC_NO_WIRE, 0, 0, 6, 1);
        uint32_t outs[4] = {t1, t2, t3, z};
        for (int o = 0; o < 4; o++) {
            char name[16];
            snprintf(name, sizeof name, "o%d", o);
            ck_assert_int_ge(mpc_circ_add_output(c, name, outs[o], 1, 7, 1), 0);
        }
        char err[256];
        ck_assert_msg(mpc_circ_finish(c, err, sizeof err) == 0, "%s", err);
        uint64_t *xv = s_randvec(L), *yv = s_randvec(L);
        for (uint64_t k = 0; k < L; k++) {   /* |x| < 2^62 for l = 63, |y| < 2^9 for l = 10 */
            uint64_t mx = xv[k] % (1ull << 62), my = yv[k] % 512;
            xv[k] = (xv[k] >> 63) ? 0 - mx : mx;
            yv[k] = (yv[k] >> 63) ? 0 - my : my;
        }
        const uint64_t *vals[2] = {xv, yv};
        et_job j;
        memset(&j, 0, sizeof j);
        j.c = c;
        j.job = 14;
        j.use_dealer = (int)i;
        j.cmp_apart = P;
        j.slice_words = 64;
        randombytes_buf(j.master, 32);
        et_plain_inputs(&j, vals);
        ck_assert_int_eq(et_run(&j), 0);
        uint64_t parts = (3 * L + P - 1) / P;
        for (uint32_t p = 0; p < n; p++) {
            ck_assert_msg(j.rc[p] == 0 && j.open_rc[p] == 0, "%s", j.err[p]);
            ck_assert_uint_eq(j.st[p].apart_parts, parts);
            ck_assert_uint_eq(j.st[p].apart_rounds, parts);
            ck_assert_uint_eq(j.st[p].trunc, 3 * L);
            ck_assert_uint_eq(j.st[p].triples, L);
            ck_assert_uint_eq(j.st[p].rounds, 1);
            ck_assert_uint_eq(j.st[p].sliced, 1);
            ck_assert_uint_eq(j.st[p].open_bytes_sent, 8ull * (n - 1) * (3 * L + 2 * L));
            ck_assert_uint_lt(2 * j.st[p].material_peak_words, 3 * L + 3 * 3 * L);
        }
        const uint64_t *src[3] = {xv, yv, yv};
        const uint32_t ms[3] = {16, 5, 16};
        for (int o = 0; o < 3; o++)
            for (uint64_t k = 0; k < L; k++) {
                uint64_t f = s_floor_shift(src[o][k], ms[o]), got = j.value[0][o][k];
                ck_assert_msg(got == f || got == f + 1, "output %d[%llu]", o, (unsigned long long)k);
            }
        for (uint64_t k = 0; k < L; k++) ck_assert_uint_eq(j.value[0][3][k], xv[k] * yv[k]);
        et_clear(&j);
        free(xv);
        free(yv);
        mpc_circ_destroy(&c);
    }
}
END_TEST

START_TEST(test_trunc_exact_range)
{
    static const uint32_t ml[][2] = {{16, 63}, {16, 40}, {1, 2}, {62, 63}, {5, 10}, {32, 48}, {1, 63}};
    for (size_t i = 0; i < 3; i++)
        for (size_t s = 0; s < sizeof ml / sizeof ml[0]; s++) {
            uint32_t m = ml[s][0], l = ml[s][1];
            uint64_t L = 4000;
            uint64_t *xv = s_randvec(L), *res = malloc(L * 8);
            uint64_t lim = (1ull << (l - 1)) - 1;   /* |x| <= 2^(l-1) - 1 */
            for (uint64_t k = 0; k < L; k++) {
                uint64_t mag = xv[k] % (lim + 1);
                xv[k] = (xv[k] >> 63) ? 0 - mag : mag;
            }
            xv[0] = lim; xv[1] = 0 - lim; xv[2] = 0; xv[3] = (uint64_t)-1; xv[4] = 1;
            s_trunc_run(s_ns[i], m, l, xv, L, res);
            for (uint64_t k = 0; k < L; k++) {
                uint64_t f = s_floor_shift(xv[k], m);
                ck_assert_msg(res[k] == f || res[k] == f + 1,
                              "m=%u l=%u x=%lld: got %lld, floor %lld", m, l, (long long)xv[k],
                              (long long)res[k], (long long)f);
            }
            free(xv);
            free(res);
        }
}
END_TEST

/* Rounding is unbiased: x = q·2^m + f rounds up with probability f/2^m. */
START_TEST(test_trunc_unbiased)
{
    uint32_t m = 8, l = 40;
    uint64_t L = 200000;
    static const uint64_t fr[] = {0, 32, 128, 200, 255};
    for (size_t t = 0; t < sizeof fr / sizeof fr[0]; t++) {
        uint64_t *xv = malloc(L * 8), *res = malloc(L * 8);
        for (uint64_t k = 0; k < L; k++) {
            uint64_t q = et_rand64() % (1ull << 30);
            uint64_t v = (q << m) + fr[t];
            xv[k] = (k & 1) ? 0 - v : v;    /* negative values too: -v = (-q-1)·2^m + (2^m - f) */
        }
        s_trunc_run(2, m, l, xv, L, res);
        uint64_t up_pos = 0, up_neg = 0;
        for (uint64_t k = 0; k < L; k++) {
            uint64_t f = s_floor_shift(xv[k], m);
            ck_assert(res[k] == f || res[k] == f + 1);
            if (res[k] == f + 1) {
                if (k & 1) up_neg++;
                else up_pos++;
            }
        }
        double half = (double)L / 2;
        double pp = (double)fr[t] / 256.0;
        double pn = fr[t] ? 1.0 - pp : 0.0;
        double sd = sqrt(half * 0.25);
        ck_assert_msg(fabs((double)up_pos - half * pp) < 6 * sd + 1, "f=%llu: %llu up of %.0f",
                      (unsigned long long)fr[t], (unsigned long long)up_pos, half);
        ck_assert_msg(fabs((double)up_neg - half * pn) < 6 * sd + 1, "f=%llu (neg): %llu up",
                      (unsigned long long)fr[t], (unsigned long long)up_neg);
        free(xv);
        free(res);
    }
}
END_TEST

/* Past the headroom the result is not garbage but silently wrong with probability about
 * (|x| − 2^(l−1)) / 2^l: measured for l = 63 at |x| ≈ 1.01·2^62 (expected rate 0.005) and
 * |x| ≈ 1.25·2^62 (0.125), half positive and half negative, with loose bounds (the counts
 * are binomial: 41 ± 6.4 and 1024 ± 30 of 8192).  A wrong result is off by ±2^(l+1−m). */
START_TEST(test_trunc_past_headroom_rate)
{
    const uint32_t m = 16, l = 63;
    const uint64_t L = 8192;
    static const uint64_t over[2] = {(1ull << 62) / 100, (1ull << 62) / 4};
    static const uint64_t lo[2] = {10, 800}, hi[2] = {100, 1250};
    for (int t = 0; t < 2; t++) {
        uint64_t *xv = malloc(L * 8), *res = malloc(L * 8);
        for (uint64_t k = 0; k < L; k++) {
            uint64_t mag = (1ull << 62) + over[t] + (et_rand64() >> 40);
            xv[k] = (k & 1) ? 0 - mag : mag;
        }
        s_trunc_run(2, m, l, xv, L, res);
        uint64_t wrong = 0;
        for (uint64_t k = 0; k < L; k++) {
            uint64_t f = s_floor_shift(xv[k], m);
            if (res[k] == f || res[k] == f + 1) continue;
            wrong++;
            /* off by 2^(l+1−m) (plus the rounding unit), up or down */
            uint64_t dd = res[k] - f, big = 1ull << (l + 1 - m);
            ck_assert_msg(dd == big || dd == big + 1 || dd == 0 - big || dd == 1 - big,
                          "wrong by %lld", (long long)dd);
        }
        printf("trunc past headroom: |x| = (1 + %.2f)·2^62: %llu of %llu wrong\n",
               (double)over[t] / (double)(1ull << 62), (unsigned long long)wrong,
               (unsigned long long)L);
        ck_assert_msg(wrong >= lo[t] && wrong <= hi[t], "%llu of %llu wrong",
                      (unsigned long long)wrong, (unsigned long long)L);
        free(xv);
        free(res);
    }
}
END_TEST

/* A fixed-point product x·y truncated by f agrees with the exact product within 1 ulp. */
START_TEST(test_fix_mul)
{
    for (size_t i = 0; i < 3; i++) {
        uint32_t n = s_ns[i], f = 16;
        uint64_t L = 500;
        mpc_circuit *c = s_parties(n);
        uint32_t x = mpc_circ_add_input(c, "x", 0, MPC_T_FIX, L, 1, 1);
        uint32_t y = mpc_circ_add_input(c, "y", n - 1, MPC_T_FIX, L, 1, 1);
        uint32_t m = mpc_circ_add_gate(c, MPC_G_MUL, MPC_T_FIX, L, x, y, MPC_NO_WIRE, 0, 0, 2, 1);
        uint32_t t = mpc_circ_add_gate(c, MPC_G_TRUNC, MPC_T_FIX, L, m, MPC_NO_WIRE, MPC_NO_WIRE, f, 63, 2, 1);
        uint32_t t2 = mpc_circ_add_gate(c, MPC_G_MUL, MPC_T_FIX, L, t, x, MPC_NO_WIRE, 0, 0, 3, 1);
        uint32_t t3 = mpc_circ_add_gate(c, MPC_G_TRUNC, MPC_T_FIX, L, t2, MPC_NO_WIRE, MPC_NO_WIRE, f, 63, 3, 1);
        ck_assert_int_ge(mpc_circ_add_output(c, "xy", t, 3, 4, 1), 0);
        ck_assert_int_ge(mpc_circ_add_output(c, "xyx", t3, 3, 5, 1), 0);
        char err[256];
        ck_assert_int_eq(mpc_circ_finish(c, err, sizeof err), 0);
        ck_assert_uint_eq(c->rounds, 4);
        uint64_t *xv = malloc(L * 8), *yv = malloc(L * 8);
        for (uint64_t k = 0; k < L; k++) {   /* |x|, |y| < 2^10 in fix: products fit */
            int64_t a = (int64_t)(et_rand64() % (1ull << 26)) - (1ll << 25);
            int64_t b = (int64_t)(et_rand64() % (1ull << 26)) - (1ll << 25);
            xv[k] = (uint64_t)a;
            yv[k] = (uint64_t)b;
        }
        const uint64_t *vals[2] = {xv, yv};
        et_job j;
        memset(&j, 0, sizeof j);
        j.c = c;
        j.job = 21;
        randombytes_buf(j.master, 32);
        et_plain_inputs(&j, vals);
        ck_assert_int_eq(et_run(&j), 0);
        for (uint32_t p = 0; p < n; p++) ck_assert_msg(j.rc[p] == 0 && j.open_rc[p] == 0, "%s", j.err[p]);
        for (uint64_t k = 0; k < L; k++) {
            uint64_t fl = s_floor_shift(xv[k] * yv[k], f);
            uint64_t got = j.value[0][0][k];
            ck_assert(got == fl || got == fl + 1);
            /* second product: reference from the engine's own first result */
            uint64_t fl2 = s_floor_shift(got * xv[k], f);
            ck_assert(j.value[0][1][k] == fl2 || j.value[0][1][k] == fl2 + 1);
            /* against real arithmetic: within 1 + |x|·2^-f ulp of x·y·x */
            double ex = (double)(int64_t)xv[k] * (double)(int64_t)yv[k] * (double)(int64_t)xv[k] / 4294967296.0;
            double er = fabs((double)(int64_t)j.value[0][1][k] - ex);
            ck_assert(er <= 2.0 + fabs((double)(int64_t)xv[k]) / 65536.0);
        }
        et_clear(&j);
        free(xv);
        free(yv);
        mpc_circ_destroy(&c);
    }
}
END_TEST

/* ---- refusals and failures ---- */

/* A preprocessing source without comparison material: a circuit with LTZ is refused on
 * every party before any input is touched, naming the gate and its line. */
static mpc_prep *s_make_nocmp(uint32_t party, void *arg)
{
    (void)arg;
    uint8_t master[32] = {1};
    mpc_prep *p = mpc_prep_testlocal_new(master, party, 2);
    p->caps = 0;
    return p;
}

START_TEST(test_unsupported_refused)
{
    mpc_circuit *c = s_parties(2);
    uint32_t x = mpc_circ_add_input(c, "x", 0, MPC_T_INT, 4, 1, 1);
    uint32_t lt = mpc_circ_add_gate(c, MPC_G_LTZ, MPC_T_BOOL, 4, x, MPC_NO_WIRE, MPC_NO_WIRE, 0, 0, 42, 7);
    ck_assert_int_ge(mpc_circ_add_output(c, "o", lt, 3, 43, 1), 0);
    char err[256];
    ck_assert_int_eq(mpc_circ_finish(c, err, sizeof err), 0);
    ck_assert_int_eq(mpc_engine_supported(c, err, sizeof err), 0);
    uint64_t xv[4] = {1, 2, 3, 4};
    const uint64_t *vals[1] = {xv};
    et_job j;
    memset(&j, 0, sizeof j);
    j.c = c;
    j.job = 3;
    j.make_prep = s_make_nocmp;
    et_plain_inputs(&j, vals);
    ck_assert_int_eq(et_run(&j), 0);
    for (int p = 0; p < 2; p++) {
        ck_assert_int_eq(j.rc[p], MPC_ERR_UNSUPPORTED);
        ck_assert_ptr_nonnull(strstr(j.err[p], "ltz"));
        ck_assert_ptr_nonnull(strstr(j.err[p], ":42:"));
        ck_assert_uint_eq(j.st[p].msgs_sent, 0);   /* nothing touched, nothing sent */
    }
    et_clear(&j);
    mpc_circ_destroy(&c);
}
END_TEST

static mpc_circuit *s_simple_mul(uint32_t n, uint64_t L)
{
    mpc_circuit *c = s_parties(n);
    uint32_t x = mpc_circ_add_input(c, "x", 0, MPC_T_INT, L, 1, 1);
    uint32_t y = mpc_circ_add_input(c, "y", 1, MPC_T_INT, L, 1, 1);
    uint32_t m = mpc_circ_add_gate(c, MPC_G_MUL, MPC_T_INT, L, x, y, MPC_NO_WIRE, 0, 0, 2, 1);
    uint32_t m2 = mpc_circ_add_gate(c, MPC_G_MUL, MPC_T_INT, L, m, y, MPC_NO_WIRE, 0, 0, 2, 1);
    ck_assert_int_ge(mpc_circ_add_output(c, "o", m2, (1u << n) - 1, 3, 1), 0);
    char err[256];
    ck_assert_int_eq(mpc_circ_finish(c, err, sizeof err), 0);
    return c;
}

/* A bad input on one party aborts the job everywhere, naming no secret: an explicit share
 * of the wrong length (party 2), and a missing seed (party 1, whom party 0 is waiting for
 * when the ABORT comes, so its error names it). */
START_TEST(test_bad_input_aborts_all)
{
    mpc_circuit *c = s_simple_mul(3, 8);
    uint64_t xv[8] = {0}, yv[8] = {0};
    const uint64_t *vals[2] = {xv, yv};
    for (uint32_t bad = 1; bad <= 2; bad++) {
        et_job j;
        memset(&j, 0, sizeof j);
        j.c = c;
        j.job = 4 + bad;
        et_plain_inputs(&j, vals);
        if (bad == 2) j.in[2][1].len = 7;   /* party 2 holds the explicit shares */
        else j.in[1][1].seed = NULL;        /* party 1 a seed */
        ck_assert_int_eq(et_run(&j), 0);
        ck_assert_int_eq(j.rc[bad], MPC_ERR_INPUT);
        ck_assert_ptr_nonnull(strstr(j.err[bad], "'y'"));
        for (uint32_t p = 0; p < 3; p++)
            if (p != bad) ck_assert_int_eq(j.rc[p], MPC_ERR_PEER_ABORT);
        if (bad == 1) ck_assert_msg(strstr(j.err[0], "party 1"), "%s", j.err[0]);
        for (int p = 0; p < 3; p++) ck_assert_ptr_null(j.share[p][0]);
        et_clear(&j);
    }
    mpc_circ_destroy(&c);
}
END_TEST

/* A silent party: the others time out with an error naming it. */
START_TEST(test_silent_peer_times_out)
{
    mpc_circuit *c = s_simple_mul(3, 8);
    uint64_t xv[8] = {0}, yv[8] = {0};
    const uint64_t *vals[2] = {xv, yv};
    et_job j;
    memset(&j, 0, sizeof j);
    j.c = c;
    j.job = 4;
    j.timeout_ms = 300;
    j.silent = 3;   /* party 2 never runs */
    et_plain_inputs(&j, vals);
    ck_assert_int_eq(et_run(&j), 0);
    /* One of the live parties times out on party 2 and names it; the other either timed out
     * too or got that party's abort (an abort from any peer fails the stream). */
    /* Either way each knows who is gone: its own lost peer, or the one the ABORT named. */
    int named = 0;
    for (int p = 0; p < 2; p++) {
        ck_assert(j.rc[p] == MPC_ERR_TIMEOUT || j.rc[p] == MPC_ERR_PEER_ABORT);
        if (j.rc[p] == MPC_ERR_TIMEOUT && strstr(j.err[p], "party 2")) named = 1;
        if (j.rc[p] == MPC_ERR_TIMEOUT) {
            ck_assert_uint_eq(j.st[p].lost, 2);
        } else {
            ck_assert_uint_eq(j.st[p].abort_from, 1 - p);
            ck_assert_uint_eq(j.st[p].abort_lost, 2);
        }
    }
    ck_assert(named);
    et_clear(&j);
    mpc_circ_destroy(&c);
}
END_TEST

/* A malformed message on the job stream (right type and seq, wrong count) makes the
 * receiving party fail with a protocol error naming the sender; the others are aborted. */
static void s_inject_bad(mpc_mem_hub *hub, void *arg)
{
    (void)arg;
    uint64_t junk[3] = {1, 2, 3};
    mpc_msg_hdr h = {.version = MPC_WIRE_VERSION, .type = MPC_MSG_INPUT, .sender = 0, .stream = 4,
                     .seq = 0, .count = 3};
    ck_assert_int_eq(mpc_mem_inject(hub, 2, &h, junk, 3), 0);
}

START_TEST(test_malformed_message_aborts)
{
    mpc_circuit *c = s_simple_mul(3, 8);
    uint64_t xv[8] = {0}, yv[8] = {0};
    const uint64_t *vals[2] = {xv, yv};
    et_job j;
    memset(&j, 0, sizeof j);
    j.c = c;
    j.job = 4;
    j.before = s_inject_bad;
    et_plain_inputs(&j, vals);
    ck_assert_int_eq(et_run(&j), 0);
    ck_assert_int_eq(j.rc[2], MPC_ERR_PROTOCOL);
    ck_assert_ptr_nonnull(strstr(j.err[2], "party 0"));
    ck_assert_int_eq(j.rc[0], MPC_ERR_PEER_ABORT);
    ck_assert_int_eq(j.rc[1], MPC_ERR_PEER_ABORT);
    for (int p = 0; p < 3; p++) ck_assert_ptr_null(j.share[p][0]);
    et_clear(&j);
    mpc_circ_destroy(&c);
}
END_TEST

/* A dealer that never answers: every party fails in preprocessing, with a timeout. */
START_TEST(test_dealer_down)
{
    mpc_circuit *c = s_simple_mul(2, 8);
    uint64_t xv[8] = {0}, yv[8] = {0};
    const uint64_t *vals[2] = {xv, yv};
    et_job j;
    memset(&j, 0, sizeof j);
    j.c = c;
    j.job = 8;
    j.use_dealer = 1;
    j.silent = 3;   /* node 2 = the dealer */
    j.timeout_ms = 300;
    et_plain_inputs(&j, vals);
    ck_assert_int_eq(et_run(&j), 0);
    for (int p = 0; p < 2; p++) {
        ck_assert(j.rc[p] == MPC_ERR_TIMEOUT || j.rc[p] == MPC_ERR_PEER_ABORT);
        ck_assert_ptr_null(j.share[p][0]);
    }
    ck_assert(j.rc[0] == MPC_ERR_TIMEOUT || j.rc[1] == MPC_ERR_TIMEOUT);
    ck_assert(strstr(j.err[0], "preprocessing") || strstr(j.err[1], "preprocessing"));
    et_clear(&j);
    mpc_circ_destroy(&c);
}
END_TEST

/* ---- privacy ---- */

/* Party 1's view (everything it receives) when party 0 inputs A or B: over many runs with
 * fresh randomness, the distribution of each view word must not depend on the input.  A
 * two-sample chi-square on the top 4 bits of each word position, plus: with everything
 * random, no view word equals the secret. */
START_TEST(test_view_independent_of_input)
{
    uint32_t n = 2;
    mpc_circuit *c = s_simple_mul(n, 1);
    const int runs = 400;
    uint64_t A = 5, B = 0xdeadbeefcafef00dull, yv = 3;
    uint64_t vl = 0;
    static uint64_t hist[2][64][16];
    memset(hist, 0, sizeof hist);
    for (int which = 0; which < 2; which++)
        for (int r = 0; r < runs; r++) {
            uint64_t xv = which ? B : A;
            const uint64_t *vals[2] = {&xv, &yv};
            et_job j;
            memset(&j, 0, sizeof j);
            j.c = c;
            j.job = 100 + (uint64_t)r;
            j.view_party = 2;
            j.no_open = 1;
            randombytes_buf(j.master, 32);
            et_plain_inputs(&j, vals);
            ck_assert_int_eq(et_run(&j), 0);
            ck_assert_int_eq(j.rc[0], 0);
            ck_assert_int_eq(j.rc[1], 0);
            if (!vl) vl = j.view_len;
            ck_assert_uint_eq(j.view_len, vl);
            ck_assert_uint_le(vl, 64);
            for (uint64_t k = 0; k < vl; k++) {
                ck_assert_uint_ne(j.view[k], xv);
                hist[which][k][j.view[k] >> 60]++;
            }
            et_clear(&j);
        }
    /* two-sample chi-square, 15 degrees of freedom; 60 is far beyond the 1e-6 tail */
    for (uint64_t k = 0; k < vl; k++) {
        double chi = 0;
        for (int b = 0; b < 16; b++) {
            double s = (double)(hist[0][k][b] + hist[1][k][b]);
            if (s == 0) continue;
            double d = (double)hist[0][k][b] - (double)hist[1][k][b];
            chi += d * d / s;
        }
        ck_assert_msg(chi < 60, "view word %llu depends on the input (chi2 %.1f)", (unsigned long long)k, chi);
    }
    mpc_circ_destroy(&c);
}
END_TEST

/* With all randomness fixed (preprocessing master, the client's seeds, the zero-sharing
 * keys), the view of party 0 (which holds a client seed for x; party 1 holds the explicit
 * share x − PRG(seed)) is a deterministic function; changing x changes only the openings
 * that carry x − a, and by exactly the input difference: so x reaches party 0 only masked
 * by a (a uniform one-time pad), never otherwise. */
START_TEST(test_view_fixed_randomness)
{
    mpc_circuit *c = s_simple_mul(2, 4);
    uint8_t ts[32];
    randombytes_buf(ts, 32);
    uint64_t views[2][64];
    uint64_t vl = 0;
    uint64_t xa[4] = {1, 2, 3, 4}, xb[4] = {100, 200, 300, 400}, yv[4] = {9, 9, 9, 9};
    uint8_t master[32], zk[2][2 * 32];
    randombytes_buf(master, 32);
    randombytes_buf(zk, sizeof zk);
    for (int which = 0; which < 2; which++) {
        const uint64_t *vals[2] = {which ? xb : xa, yv};
        et_job j;
        memset(&j, 0, sizeof j);
        j.c = c;
        j.job = 50;
        j.view_party = 1;
        j.no_open = 1;
        memcpy(j.master, master, 32);
        j.input_seed = ts;
        j.zkeys[0] = zk[0];
        j.zkeys[1] = zk[1];
        et_plain_inputs(&j, vals);
        ck_assert_int_eq(et_run(&j), 0);
        ck_assert_int_eq(j.rc[0], 0);
        ck_assert_int_eq(j.rc[1], 0);
        vl = j.view_len;
        ck_assert_uint_le(vl, 64);
        memcpy(views[which], j.view, vl * 8);
        et_clear(&j);
    }
    /* view of party 0: party 1's key message (its zero-sharing key, 4 words), round 0:
     * d (4), e (4); round 1: d, e */
    ck_assert_uint_eq(vl, 4 + 8 + 8);
    for (int k = 0; k < 4; k++) ck_assert_uint_eq(views[0][k], views[1][k]);          /* key */
    for (int k = 0; k < 4; k++) ck_assert_uint_eq(views[1][4 + k] - views[0][4 + k], xb[k] - xa[k]); /* x1 - a1 */
    for (int k = 0; k < 4; k++) ck_assert_uint_eq(views[0][8 + k], views[1][8 + k]);  /* y1 - b1 */
    mpc_circ_destroy(&c);
}
END_TEST

/* The simulation argument made concrete.  With every randomness fixed (the client's seeds
 * too), x is A in one run and B in another — so the explicit share of the last party,
 * P = n − 1, changes by B − A — and in the B run P's Beaver masks are shifted so that the
 * other parties cannot tell: a_P += δ_r and c_P += δ_r·b (so c = a·b still holds), with
 * δ_0 = B − A (round 0 opens x − a) and δ_1 = (B − A)·y (round 1 opens x·y − a').  Then every
 * other party's view (keys, all openings) must be bit-for-bit identical: what they see is
 * x masked by a uniform pad and nothing else. */
typedef struct {
    uint8_t         master[32];
    uint32_t        n;
    const uint64_t *delta[2];
    uint64_t        len;
} s_shift_cfg;

typedef struct {
    mpc_prep          *inner;
    const s_shift_cfg *cfg;
    int                batch;
} s_shift;

static int s_shift_fetch(mpc_prep *p, const mpc_prep_req *req, mpc_prep_out *out)
{
    s_shift *s = p->impl;
    int r = mpc_prep_fetch(s->inner, req, out);
    if (r || p->self != s->cfg->n - 1 || s->batch >= 2) {
        s->batch++;
        return r;
    }
    /* the full b of this batch, from every party's (deterministic) material */
    uint64_t T = req->n_triples;
    uint64_t *bt = calloc(T, 8), *a = malloc(T * 8), *b = malloc(T * 8), *c = malloc(T * 8);
    for (uint32_t j = 0; j < s->cfg->n; j++) {
        mpc_prep *q = mpc_prep_testlocal_new(s->cfg->master, j, s->cfg->n);
        for (int k = 0; k <= s->batch; k++) {
            mpc_prep_out o = {.a = a, .b = b, .c = c};
            ck_assert_int_eq(mpc_prep_fetch(q, req, &o), 0);
        }
        for (uint64_t k = 0; k < T; k++) bt[k] += b[k];
        mpc_prep_destroy(&q);
    }
    const uint64_t *d = s->cfg->delta[s->batch];
    for (uint64_t k = 0; k < T; k++) {
        out->a[k] += d[k];
        out->c[k] += d[k] * bt[k];
    }
    free(bt); free(a); free(b); free(c);
    s->batch++;
    return 0;
}

static void s_shift_destroy(mpc_prep **pp)
{
    s_shift *s = (*pp)->impl;
    mpc_prep_destroy(&s->inner);
    free(s);
    free(*pp);
    *pp = NULL;
}

static const struct mpc_prep_ops s_shift_ops = {.fetch = s_shift_fetch, .destroy = s_shift_destroy};

static mpc_prep *s_make_shift(uint32_t party, void *arg)
{
    const s_shift_cfg *cfg = arg;
    mpc_prep *p = calloc(1, sizeof *p);
    s_shift *s = calloc(1, sizeof *s);
    s->inner = mpc_prep_testlocal_new(cfg->master, party, cfg->n);
    s->cfg = cfg;
    p->ops = &s_shift_ops;
    p->impl = s;
    p->self = party;
    p->n = cfg->n;
    return p;
}

START_TEST(test_view_identical_under_shifted_masks)
{
    for (uint32_t n = 2; n <= 3; n++) {
        mpc_circuit *c = s_simple_mul(n, 4);
        uint8_t ts[32], zk[3][3 * 32];
        randombytes_buf(ts, 32);
        randombytes_buf(zk, sizeof zk);
        uint64_t xa[4], xb[4], yv[4], d0[4], d1[4];
        randombytes_buf(xa, sizeof xa);
        randombytes_buf(xb, sizeof xb);
        randombytes_buf(yv, sizeof yv);
        for (int k = 0; k < 4; k++) {
            d0[k] = xb[k] - xa[k];
            d1[k] = d0[k] * yv[k];
        }
        s_shift_cfg zero = {.n = n, .len = 4}, shift;
        static const uint64_t z4[4] = {0};
        randombytes_buf(zero.master, 32);
        zero.delta[0] = zero.delta[1] = z4;
        shift = zero;
        shift.delta[0] = d0;
        shift.delta[1] = d1;
        for (uint32_t obs = 0; obs + 1 < n; obs++) {
            uint64_t *views[2] = {NULL, NULL}, vl[2] = {0, 0};
            for (int which = 0; which < 2; which++) {
                const uint64_t *vals[2] = {which ? xb : xa, yv};
                et_job j;
                memset(&j, 0, sizeof j);
                j.c = c;
                j.job = 60;
                j.view_party = (int)obs + 1;
                j.no_open = 1;
                j.make_prep = s_make_shift;
                j.before_arg = which ? &shift : &zero;
                j.input_seed = ts;
                for (uint32_t p = 0; p < n; p++) j.zkeys[p] = zk[p];
                et_plain_inputs(&j, vals);
                ck_assert_int_eq(et_run(&j), 0);
                for (uint32_t p = 0; p < n; p++) ck_assert_msg(j.rc[p] == 0, "%s", j.err[p]);
                /* the shifted run still computes x·y·y correctly */
                uint64_t *x = which ? xb : xa;
                for (int k = 0; k < 4; k++) {
                    uint64_t s = 0;
                    for (uint32_t p = 0; p < n; p++) s += j.share[p][0][k];
                    ck_assert_uint_eq(s, x[k] * yv[k] * yv[k]);
                }
                views[which] = j.view;
                vl[which] = j.view_len;
                j.view = NULL;
                et_clear(&j);
            }
            ck_assert_uint_eq(vl[0], vl[1]);
            ck_assert_uint_gt(vl[0], 0);
            ck_assert_int_eq(memcmp(views[0], views[1], vl[0] * 8), 0);
            free(views[0]);
            free(views[1]);
        }
        mpc_circ_destroy(&c);
    }
}
END_TEST

Suite *mpc_test_suite(void)
{
    Suite *s = suite_create("engine");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_all_gates);
    tcase_add_test(tc, test_sliced_openings);
    tcase_add_test(tc, test_random_circuits);
    tcase_add_test(tc, test_random_circuits_apart);
    tcase_add_test(tc, test_inputs_read_then_scrubbed);
    tcase_add_test(tc, test_rounds_and_bytes);
    tcase_add_test(tc, test_square_rounds_and_bytes);
    tcase_add_test(tc, test_million);
    tcase_add_test(tc, test_input_modes);
    tcase_add_test(tc, test_trunc_exact_range);
    tcase_add_test(tc, test_trunc_apart);
    tcase_add_test(tc, test_trunc_unbiased);
    tcase_add_test(tc, test_trunc_past_headroom_rate);
    tcase_add_test(tc, test_fix_mul);
    tcase_add_test(tc, test_unsupported_refused);
    tcase_add_test(tc, test_bad_input_aborts_all);
    tcase_add_test(tc, test_silent_peer_times_out);
    tcase_add_test(tc, test_malformed_message_aborts);
    tcase_add_test(tc, test_dealer_down);
    tcase_add_test(tc, test_view_independent_of_input);
    tcase_add_test(tc, test_view_fixed_randomness);
    tcase_add_test(tc, test_view_identical_under_shifted_masks);
    suite_add_tcase(s, tc);
    return s;
}

