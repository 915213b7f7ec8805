/* check_engine_stream.c — streamed material (prep.h, mpc_prep_stream_*), sliced and streamed rounds
 * (engine.h, mpc_engine_opts.stream_chunk; docs/engine.md "Streamed rounds"): the pull API
 * hands out exactly the material direct fetches of the same chunks give, in order, once;
 * streamed rounds of products, squares, segmented dots and selects open to the plaintext
 * result for n = 2 and 3 with the dealer, the test-local source and OT; the opening keeps its
 * bytes and its one message per slice and peer; the material held stays bounded by the
 * slices and chunks whatever N; a source that fails or stalls fails the job on every party
 * within the bound, with no output. */
#include <check.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runner.h"
#include "clock.h"
#include "compile.h"
#include "engine.h"
#include "enginetest.h"
#include "eval.h"
#include "mpc_err.h"
#include "prep.h"
#include "prep_dealer.h"
#include "prep_ot.h"
#include "transport_mem.h"

static mpc_circuit *s_compile(const char *src, uint64_t n)
{
    char num[32];
    snprintf(num, sizeof num, "%llu", (unsigned long long)n);
    mpc_define def = {"N", num};
    mpc_circuit *c = NULL;
    mpc_diag d;
    int r = mpc_compile(src, strlen(src), "stream.mpc", &def, 1, &c, &d);
    ck_assert_msg(r == 0, "%s", d.n_items ? d.items[0].msg : "compile failed");
    mpc_diag_free(&d);
    return c;
}

/* N products of two parties' vectors, z = x * y, among n = 2 or 3 parties. */
static mpc_circuit *s_mul(uint32_t n, uint64_t N)
{
    return s_compile(n == 2 ? "party a, b\nparam N = 1\ninput x: int[N] from a\ninput y: int[N] from b\n"
                              "output p = x * y to a, b\n"
                            : "party a, b, c\nparam N = 1\ninput x: int[N] from a\ninput y: int[N] from b\n"
                              "output p = x * y to a, b, c\n",
                     N);
}

/* ---- a wrapper source: counts fetches, fails or stalls on request, records aborts ---- */

typedef struct {
    mpc_prep *inner;
    uint32_t  fetches;
    uint32_t  fail_at;    /* fetch number (1-based) that fails with MPC_ERR_PREP; 0: none */
    uint32_t  stall_at;   /* fetch number from which every fetch first sleeps stall_ms */
    int       stall_ms;
    int       aborted;    /* the code of the last abort, 0: none */
} s_wrap;

static int s_wrap_fetch(mpc_prep *p, const mpc_prep_req *req, mpc_prep_out *out)
{
    s_wrap *w = p->impl;
    w->fetches++;
    if (w->fail_at && w->fetches == w->fail_at) return MPC_ERR_PREP;
    if (w->stall_at && w->fetches >= w->stall_at) usleep((useconds_t)w->stall_ms * 1000);
    return mpc_prep_fetch(w->inner, req, out);
}

static void s_wrap_abort(mpc_prep *p, int code)
{
    s_wrap *w = p->impl;
    w->aborted = code;
    mpc_prep_abort(w->inner, code);
}

static void s_wrap_destroy(mpc_prep **pp)
{
    s_wrap *w = (*pp)->impl;
    mpc_prep_destroy(&w->inner);
    free(*pp);
    *pp = NULL;
}

static const struct mpc_prep_ops s_wrap_ops = {s_wrap_fetch, s_wrap_abort, s_wrap_destroy};

/* Wraps inner; w stays the caller's (it must outlive the source). */
static mpc_prep *s_wrap_new(mpc_prep *inner, s_wrap *w)
{
    mpc_prep *p = calloc(1, sizeof *p);
    ck_assert_ptr_nonnull(p);
    ck_assert_ptr_nonnull(inner);
    w->inner = inner;
    p->ops = &s_wrap_ops;
    p->impl = w;
    p->self = inner->self;
    p->n = inner->n;
    p->caps = inner->caps;
    return p;
}

/* ---- the pull API ---- */

static const uint8_t s_master[32] = {7, 1, 4};

/* A stream of [100 triples, 50 pairs, 30 triples] in chunks of 16 hands out exactly what a
 * fresh source with the same master gives for the same chunk requests, in order, whatever
 * the pieces it is taken in; the parties' material is consistent ((Σa)(Σb) = Σc,
 * (Σsa)² = Σsa2). */
START_TEST(test_pull_matches_direct)
{
    const mpc_prep_seg segs[3] = {{MPC_PREP_K_TRIPLE, 100}, {MPC_PREP_K_SQUARE, 50}, {MPC_PREP_K_TRIPLE, 30}};
    uint64_t got[2][5][180], want[5][180];
    for (uint32_t p = 0; p < 2; p++) {
        mpc_prep *src = mpc_prep_testlocal_new(s_master, p, 2);
        mpc_prep_stream *st = NULL;
        ck_assert_int_eq(mpc_prep_stream_new(src, segs, 3, 16, 2, &st), 0);
        ck_assert_uint_eq(mpc_prep_stream_ring_words(st), 3 * 16 * 2);
        uint64_t pos[2] = {0, 0};   /* triples, pairs taken */
        for (uint32_t g = 0; g < 3; g++) {
            for (uint64_t k = 0; k < segs[g].n;) {
                uint64_t m = segs[g].n - k < 7 ? segs[g].n - k : 7;
                int sq = segs[g].kind == MPC_PREP_K_SQUARE;
                uint64_t o = pos[sq];
                mpc_prep_out out = {0};
                if (sq) {
                    out.sa = got[p][3] + o;
                    out.sa2 = got[p][4] + o;
                } else {
                    out.a = got[p][0] + o;
                    out.b = got[p][1] + o;
                    out.c = got[p][2] + o;
                }
                ck_assert_int_eq(mpc_prep_stream_take(st, segs[g].kind, m, &out, 2000), 0);
                pos[sq] += m;
                k += m;
            }
        }
        ck_assert_int_eq(mpc_prep_stream_end(&st, 0), 0);
        ck_assert_ptr_null(st);
        ck_assert_uint_eq(src->triples_out, 130);
        ck_assert_uint_eq(src->squares_out, 50);
        ck_assert_uint_eq(src->batches, 7 + 4 + 2);   /* chunks of 16: 100, 50, 30 items */
        mpc_prep_destroy(&src);
        /* the same chunk requests fetched directly */
        mpc_prep *d = mpc_prep_testlocal_new(s_master, p, 2);
        uint64_t tpos = 0, spos = 0;
        for (uint32_t g = 0; g < 3; g++)
            for (uint64_t k = 0; k < segs[g].n; k += 16) {
                uint64_t m = segs[g].n - k < 16 ? segs[g].n - k : 16;
                int sq = segs[g].kind == MPC_PREP_K_SQUARE;
                mpc_prep_req req = {.n_triples = sq ? 0 : m, .n_squares = sq ? m : 0};
                mpc_prep_out out = {0};
                if (sq) {
                    out.sa = want[3] + spos;
                    out.sa2 = want[4] + spos;
                    spos += m;
                } else {
                    out.a = want[0] + tpos;
                    out.b = want[1] + tpos;
                    out.c = want[2] + tpos;
                    tpos += m;
                }
                ck_assert_int_eq(mpc_prep_fetch(d, &req, &out), 0);
            }
        mpc_prep_destroy(&d);
        for (int f = 0; f < 5; f++) ck_assert_mem_eq(got[p][f], want[f], (f < 3 ? 130 : 50) * 8);
    }
    for (int k = 0; k < 130; k++)
        ck_assert_uint_eq((got[0][0][k] + got[1][0][k]) * (got[0][1][k] + got[1][1][k]), got[0][2][k] + got[1][2][k]);
    for (int k = 0; k < 50; k++) {
        uint64_t a = got[0][3][k] + got[1][3][k];
        ck_assert_uint_eq(a * a, got[0][4][k] + got[1][4][k]);
    }
}
END_TEST

/* Misuse and early ends: another kind than the next, more than is left, an end before
 * everything was taken (the producer aborts the source with the code), bad arguments. */
START_TEST(test_pull_misuse_and_early_end)
{
    const mpc_prep_seg segs[2] = {{MPC_PREP_K_TRIPLE, 40}, {MPC_PREP_K_SQUARE, 8}};
    uint64_t a[64], b[64], c[64];
    mpc_prep_out out = {.a = a, .b = b, .c = c, .sa = a, .sa2 = b};
    s_wrap w = {0};
    mpc_prep *src = s_wrap_new(mpc_prep_testlocal_new(s_master, 0, 2), &w);
    mpc_prep_stream *st = NULL;
    ck_assert_int_eq(mpc_prep_stream_new(src, segs, 2, 16, 1, &st), 0);
    ck_assert_int_eq(mpc_prep_stream_take(st, MPC_PREP_K_SQUARE, 1, &out, 2000), MPC_ERR_STATE);
    ck_assert_int_eq(mpc_prep_stream_take(st, MPC_PREP_K_TRIPLE, 1, &out, 2000), MPC_ERR_STATE);   /* failed */
    ck_assert_int_eq(mpc_prep_stream_end(&st, MPC_ERR_CANCELLED), MPC_ERR_CANCELLED);
    ck_assert_int_eq(w.aborted, MPC_ERR_CANCELLED);   /* the producer had not made every chunk */
    ck_assert_uint_le(w.fetches, 2);                  /* ahead = 1: one chunk made, one at most in hand */
    mpc_prep_destroy(&src);

    memset(&w, 0, sizeof w);
    src = s_wrap_new(mpc_prep_testlocal_new(s_master, 0, 2), &w);
    ck_assert_int_eq(mpc_prep_stream_new(src, segs, 2, 16, 4, &st), 0);
    ck_assert_int_eq(mpc_prep_stream_take(st, MPC_PREP_K_TRIPLE, 40, &out, 2000), 0);
    ck_assert_int_eq(mpc_prep_stream_take(st, MPC_PREP_K_SQUARE, 9, &out, 2000), MPC_ERR_STATE);
    ck_assert_int_eq(mpc_prep_stream_end(&st, 0), 0);   /* every chunk was made and taken */
    ck_assert_int_eq(w.aborted, 0);
    mpc_prep_destroy(&src);

    /* a fetch that fails: the take returns its error */
    memset(&w, 0, sizeof w);
    w.fail_at = 2;
    src = s_wrap_new(mpc_prep_testlocal_new(s_master, 0, 2), &w);
    ck_assert_int_eq(mpc_prep_stream_new(src, segs, 2, 16, 4, &st), 0);
    ck_assert_int_eq(mpc_prep_stream_take(st, MPC_PREP_K_TRIPLE, 16, &out, 2000), 0);
    ck_assert_int_eq(mpc_prep_stream_take(st, MPC_PREP_K_TRIPLE, 16, &out, 2000), MPC_ERR_PREP);
    ck_assert_int_eq(mpc_prep_stream_end(&st, MPC_ERR_PREP), MPC_ERR_PREP);
    mpc_prep_destroy(&src);

    /* a stalled source: the take gives up after its bound */
    memset(&w, 0, sizeof w);
    w.stall_at = 1;
    w.stall_ms = 1500;
    src = s_wrap_new(mpc_prep_testlocal_new(s_master, 0, 2), &w);
    ck_assert_int_eq(mpc_prep_stream_new(src, segs, 2, 16, 4, &st), 0);
    uint64_t t0 = mpc_now_ms();
    ck_assert_int_eq(mpc_prep_stream_take(st, MPC_PREP_K_TRIPLE, 1, &out, 200), MPC_ERR_TIMEOUT);
    uint64_t dt = mpc_now_ms() - t0;
    ck_assert_uint_ge(dt, 190);
    ck_assert_uint_lt(dt, 1400);
    ck_assert_int_eq(mpc_prep_stream_end(&st, MPC_ERR_TIMEOUT), MPC_ERR_TIMEOUT);
    mpc_prep_destroy(&src);

    const mpc_prep_seg bad = {9, 1};
    ck_assert_int_eq(mpc_prep_stream_new(NULL, segs, 2, 16, 1, &st), MPC_ERR_INVALID);
    src = mpc_prep_testlocal_new(s_master, 0, 2);
    ck_assert_int_eq(mpc_prep_stream_new(src, &bad, 1, 16, 1, &st), MPC_ERR_INVALID);
    ck_assert_int_eq(mpc_prep_stream_new(src, segs, 2, 16, MPC_PREP_STREAM_AHEAD_MAX + 1, &st), MPC_ERR_INVALID);
    ck_assert_ptr_null(st);
    ck_assert_uint_eq(src->batches, 0);
    mpc_prep_destroy(&src);
}
END_TEST

/* ---- streamed rounds ---- */

/* Layer 0: products, a dot, squares (x * x, dot(y, y)), a select on a bool input, a fix dot
 * (segments of 256, truncated in layer 1); layer 1: a product of a product. */
static const char *s_prog2 =
    "party a, b\n"
    "param N = 1000\n"
    "input x: int[N] from a\n"
    "input y: int[N] from b\n"
    "input s: bool[N] from a\n"
    "input f: fix[N] from a in -4..4\n"
    "input g: fix[N] from b in -4..4\n"
    "output p = x * y to a, b\n"
    "output q = dot(x, y) to a, b\n"
    "output r = x * x to a, b\n"
    "output t = dot(y, y) to a, b\n"
    "output u = s ? x : y to a, b\n"
    "output v = dot(f, g) to a, b\n"
    "output w = (x * y) * x to a, b\n";

static const char *s_prog3 =
    "party a, b, c\n"
    "param N = 1000\n"
    "input x: int[N] from a\n"
    "input y: int[N] from b\n"
    "input z: int[N] from c\n"
    "output p = x * y to a, b, c\n"
    "output r = z * z to a\n"
    "output q = dot(x, z) to b\n"
    "output w = (x * y) * z to c\n";

/* The sources of a job: OT (on a hub of its own), or the test-local source wrapped. */
typedef struct {
    et_ot          ot;
    uint32_t       n;
    s_wrap         w[4];
} s_env;

static mpc_prep *s_wrap_make(uint32_t p, void *arg)
{
    s_env *e = arg;
    return s_wrap_new(mpc_prep_testlocal_new(s_master, p, e->n), &e->w[p]);
}

static void s_env_free(s_env *e)
{
    et_ot_free(&e->ot);
}

/* Random inputs for c (bool inputs 0/1, fix inputs within ±4). */
static uint64_t **s_inputs(const mpc_circuit *c)
{
    uint64_t **v = calloc(c->n_inputs, sizeof *v);
    for (uint32_t k = 0; k < c->n_inputs; k++) {
        v[k] = malloc(c->inputs[k].len * 8);
        for (uint64_t i = 0; i < c->inputs[k].len; i++) {
            uint64_t r = et_rand64();
            v[k][i] = c->inputs[k].type == MPC_T_BOOL ? (r & 1)
                    : c->inputs[k].type == MPC_T_FIX ? (uint64_t)((int64_t)(r % (8u << 16)) - (4 << 16))
                    : r;
        }
    }
    return v;
}

static void s_inputs_free(const mpc_circuit *c, uint64_t **v)
{
    for (uint32_t k = 0; k < c->n_inputs; k++) free(v[k]);
    free(v);
}

enum { S_LOCAL, S_DEALER, S_OT };

/* Runs c streamed (slice, chunk, ahead) with the given source and checks every opened output
 * against the plaintext evaluation (a fix output may be up to one unit above per truncation
 * summed into it: a fix dot of 1,000 sums 4 truncated segments of 256),
 * the rounds, and the opening's bytes: 16(n−1) per product, 8(n−1) per square and per
 * truncated element.  The job is left in j for more checks (et_clear it). */
static void s_run_check(et_job *j, const mpc_circuit *c, int src, uint64_t slice, uint64_t chunk, uint32_t ahead,
                        s_env *env)
{
    uint32_t n = c->n_parties;
    uint64_t **vals = s_inputs(c);
    memset(j, 0, sizeof *j);
    memset(env, 0, sizeof *env);
    env->n = n;
    j->c = c;
    j->job = 41;
    j->timeout_ms = 20000;
    j->slice_words = slice;
    j->stream_chunk = chunk;
    j->stream_ahead = ahead;
    randombytes_buf(j->master, sizeof j->master);
    j->use_dealer = src == S_DEALER;
    if (src == S_OT) {   /* OT among the parties with small chunks */
        env->ot = (et_ot){.n = n, .o = {.timeout_ms = 20000, .chunk = 64, .threads = 1},
                          .stream = 0x5e | MPC_STREAM_PREP_BIT};
        j->before = et_ot_before;
        j->make_prep = et_ot_make;
        j->before_arg = &env->ot;
    }
    et_plain_inputs(j, (const uint64_t *const *)vals);
    ck_assert_int_eq(et_run(j), 0);
    mpc_eval_result ref;
    memset(&ref, 0, sizeof ref);
    char err[256];
    ck_assert_int_eq(mpc_eval(c, (const uint64_t *const *)vals, &ref, err, sizeof err), 0);
    mpc_circ_stats cs;
    mpc_circ_stats_get(c, &cs);
    for (uint32_t p = 0; p < n; p++) {
        ck_assert_msg(j->rc[p] == 0 && j->open_rc[p] == 0, "party %u: %s", p, j->err[p]);
        ck_assert_uint_eq(j->st[p].rounds, c->rounds);
        ck_assert_uint_eq(j->st[p].triples, cs.triples);
        ck_assert_uint_eq(j->st[p].squares, cs.squares);
        ck_assert_uint_eq(j->st[p].open_bytes_sent, (n - 1) * (16 * cs.triples + 8 * cs.squares + 8 * j->st[p].trunc));
        ck_assert_uint_ge(j->st[p].sliced, j->st[p].streamed);
        if (chunk) {   /* streamed: never the whole layer's material at once */
            ck_assert_uint_ge(j->st[p].streamed, 1);
            ck_assert_uint_lt(j->st[p].material_peak_words, 3 * cs.triples);
        } else {
            ck_assert_uint_eq(j->st[p].streamed, 0);
        }
        for (uint32_t o = 0; o < c->n_outputs; o++) {
            if (!j->value[p][o]) continue;
            int fix = c->outputs[o].type == MPC_T_FIX;
            for (uint64_t k = 0; k < c->outputs[o].len; k++) {
                uint64_t got = j->value[p][o][k], want = ref.outputs[o][k];
                ck_assert_msg(got == want || (fix && got - want <= 4), "party %u output %u[%llu]: %llu != %llu", p,
                              o, (unsigned long long)k, (unsigned long long)got, (unsigned long long)want);
            }
        }
    }
    mpc_eval_result_free(&ref);
    s_inputs_free(c, vals);
}

/* Streamed rounds open to the plaintext result with every source, for n = 2 and 3, with
 * slices of whole products (64 words), of an odd size (63: a product never splits, so slices
 * are 62 or 63 words) and of one word (one product per slice). */
START_TEST(test_stream_matches_plaintext)
{
    static const struct { int src; uint64_t slice, chunk; uint32_t ahead; } cases[] = {
        {S_LOCAL, 64, 40, 2}, {S_LOCAL, 63, 1000, 1}, {S_DEALER, 64, 100, 3}, {S_OT, 128, 300, 2},
    };
    for (int two = 0; two < 2; two++) {
        mpc_circuit *c = s_compile(two ? s_prog2 : s_prog3, 1000);
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            et_job j;
            s_env env;
            s_run_check(&j, c, cases[i].src, cases[i].slice, cases[i].chunk, cases[i].ahead, &env);
            et_clear(&j);
            s_env_free(&env);
        }
        mpc_circ_destroy(&c);
    }
    mpc_circuit *c = s_compile(s_prog3, 40);
    et_job j;
    s_env env;
    s_run_check(&j, c, S_LOCAL, 1, 3, 2, &env);
    et_clear(&j);
    mpc_circ_destroy(&c);
}
END_TEST

static void s_job_wrapped(et_job *j, s_env *env, const mpc_circuit *c, uint64_t **vals, int timeout_ms,
                          uint64_t slice, uint64_t chunk);

/* Rounds of products longer than a slice run slice by slice with the material fetched whole
 * (stream_chunk 0): the same results, bytes and one OPEN message per slice as streamed, for
 * n = 2 and 3, slices of 64, 63 and 1 words, with every source. */
START_TEST(test_sliced_matches_plaintext)
{
    static const struct { int src; uint64_t slice; } cases[] = {
        {S_LOCAL, 64}, {S_LOCAL, 63}, {S_DEALER, 64}, {S_OT, 128},
    };
    for (int two = 0; two < 2; two++) {
        mpc_circuit *c = s_compile(two ? s_prog2 : s_prog3, 1000);
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            et_job j;
            s_env env;
            s_run_check(&j, c, cases[i].src, cases[i].slice, 0, 0, &env);
            for (uint32_t p = 0; p < c->n_parties; p++)   /* s_prog2's second round truncates too */
                ck_assert_uint_eq(j.st[p].sliced, two ? 1 : c->rounds);
            et_clear(&j);
            s_env_free(&env);
        }
        mpc_circ_destroy(&c);
    }
    mpc_circuit *c = s_compile(s_prog3, 40);
    et_job j;
    s_env env;
    s_run_check(&j, c, S_LOCAL, 1, 0, 0, &env);
    et_clear(&j);
    mpc_circ_destroy(&c);
    /* one OPEN message per slice and peer, 16 bytes per product, whether streamed or not */
    c = s_compile("party a, b\nparam N = 1000\ninput x: int[N] from a\ninput y: int[N] from b\n"
                  "output p = x * y to a, b\n", 1000);
    for (int streamed = 0; streamed < 2; streamed++) {
        uint64_t **vals = s_inputs(c);
        memset(&env, 0, sizeof env);
        s_job_wrapped(&j, &env, c, vals, 10000, 64, streamed ? 96 : 0);
        j.no_open = 1;
        ck_assert_int_eq(et_run(&j), 0);
        for (uint32_t p = 0; p < 2; p++) {
            ck_assert_msg(j.rc[p] == 0, "%s", j.err[p]);
            ck_assert_uint_eq(j.st[p].msgs_sent, 1 + (2000 + 63) / 64);
            ck_assert_uint_eq(j.st[p].open_bytes_sent, 16 * 1000);
            ck_assert_uint_eq(j.st[p].sliced, 1);
            ck_assert_uint_eq(j.st[p].streamed, (uint32_t)streamed);
        }
        et_clear(&j);
        s_inputs_free(c, vals);
    }
    mpc_circ_destroy(&c);
}
END_TEST

/* Only rounds of products longer than one slice are sliced: in s_prog2 the second round also
 * opens a truncation (of the fix dot), and a round of one slice is one message as before. */
START_TEST(test_sliced_only_products)
{
    mpc_circuit *c = s_compile(s_prog2, 1000);
    ck_assert_uint_eq(c->rounds, 2);
    for (int big = 0; big < 2; big++) {
        et_job j;
        s_env env;
        s_run_check(&j, c, S_LOCAL, big ? 1u << 17 : 64, 0, 0, &env);
        for (uint32_t p = 0; p < 2; p++) ck_assert_uint_eq(j.st[p].sliced, big ? 0 : 1);
        et_clear(&j);
    }
    mpc_circ_destroy(&c);
}
END_TEST

/* A job of c on the wrapped test-local source (env->w set by the caller), streamed with
 * slices of `slice` words and chunks of `chunk`, its inputs vals; run with et_run. */
static void s_job_wrapped(et_job *j, s_env *env, const mpc_circuit *c, uint64_t **vals, int timeout_ms,
                          uint64_t slice, uint64_t chunk)
{
    memset(j, 0, sizeof *j);
    env->n = c->n_parties;
    j->c = c;
    j->job = 12;
    j->timeout_ms = timeout_ms;
    j->slice_words = slice;
    j->stream_chunk = chunk;
    j->make_prep = s_wrap_make;
    j->before_arg = env;
    et_plain_inputs(j, (const uint64_t *const *)vals);
}

/* The opening of a streamed round is one logical opening per peer: one OPEN message per
 * slice (and the key message), 16 bytes per product; each chunk is one fetch. */
START_TEST(test_stream_slices_and_fetches)
{
    mpc_circuit *c = s_compile("party a, b\nparam N = 1000\ninput x: int[N] from a\ninput y: int[N] from b\n"
                               "output p = x * y to a, b\n", 1000);
    et_job j;
    s_env env;
    memset(&env, 0, sizeof env);
    uint64_t **vals = s_inputs(c);
    s_job_wrapped(&j, &env, c, vals, 10000, 64, 96);
    j.no_open = 1;
    ck_assert_int_eq(et_run(&j), 0);
    for (uint32_t p = 0; p < 2; p++) {
        ck_assert_msg(j.rc[p] == 0, "%s", j.err[p]);
        ck_assert_uint_eq(j.st[p].msgs_sent, 1 + (2000 + 63) / 64);   /* keys, then 32 slices */
        ck_assert_uint_eq(j.st[p].open_bytes_sent, 16 * 1000);
        ck_assert_uint_eq(env.w[p].fetches, (1000 + 95) / 96);
        ck_assert_uint_eq(j.prep_triples[p], 1000);
    }
    et_clear(&j);
    s_inputs_free(c, vals);
    mpc_circ_destroy(&c);
}
END_TEST

/* The material a streamed round holds is bounded by its slices and chunks: the same peak for
 * N = 4,096 and 16,384, within ring (3 · chunk · ahead) + MPC_ENGINE_STREAM_WINDOW slices
 * (1.5 words of material per word of openings); unstreamed, the round holds 3N words. */
START_TEST(test_stream_memory_bounded)
{
    uint64_t peak[2][2];
    for (int big = 0; big < 2; big++) {
        uint64_t N = big ? 16384 : 4096;
        mpc_circuit *c = s_mul(2, N);
        for (int streamed = 0; streamed < 2; streamed++) {
            et_job j;
            s_env env;
            s_run_check(&j, c, S_LOCAL, 256, streamed ? 128 : 0, 2, &env);
            peak[big][streamed] = j.st[0].material_peak_words;
            et_clear(&j);
        }
        ck_assert_uint_ge(peak[big][0], 3 * N);
        mpc_circ_destroy(&c);
    }
    ck_assert_uint_eq(peak[0][1], peak[1][1]);
    ck_assert_uint_le(peak[1][1], 3 * 128 * 2 + MPC_ENGINE_STREAM_WINDOW * 3 * 256 / 2);
    ck_assert_uint_gt(peak[1][1], 0);
}
END_TEST

/* A source that fails in the middle of a streamed round (party 0's third chunk): every party
 * fails at once (no wait for a timeout), party 0 naming the preprocessing, and no party has
 * an output share. */
START_TEST(test_stream_source_fails)
{
    mpc_circuit *c = s_mul(3, 5000);
    uint64_t **vals = s_inputs(c);
    et_job j;
    s_env env;
    memset(&env, 0, sizeof env);
    env.w[0].fail_at = 3;
    s_job_wrapped(&j, &env, c, vals, 8000, 256, 200);
    uint64_t t0 = mpc_now_ms();
    ck_assert_int_eq(et_run(&j), 0);
    ck_assert_uint_lt(mpc_now_ms() - t0, 4000);
    ck_assert_int_eq(j.rc[0], MPC_ERR_PREP);
    ck_assert_ptr_nonnull(strstr(j.err[0], "preprocessing"));
    for (uint32_t p = 0; p < 3; p++) {
        ck_assert_int_ne(j.rc[p], 0);
        ck_assert_ptr_null(j.share[p][0]);
        ck_assert_ptr_null(j.value[p][0]);
        ck_assert_int_ne(env.w[p].aborted, 0);   /* every source was told */
    }
    ck_assert_int_eq(j.rc[1], MPC_ERR_PEER_ABORT);
    et_clear(&j);
    s_inputs_free(c, vals);
    mpc_circ_destroy(&c);
}
END_TEST

/* A source that stalls: the engine waits at most stream_wait_ms for a chunk (not timeout_ms,
 * which is longer here), then fails the job with MPC_ERR_TIMEOUT naming the preprocessing;
 * no output. */
START_TEST(test_stream_stall_bounded)
{
    mpc_circuit *c = s_mul(2, 3000);
    uint64_t **vals = s_inputs(c);
    et_job j;
    s_env env;
    memset(&env, 0, sizeof env);
    for (int p = 0; p < 2; p++) {
        env.w[p].stall_at = 2;
        env.w[p].stall_ms = 2500;
    }
    s_job_wrapped(&j, &env, c, vals, 8000, 256, 500);
    j.stream_wait_ms = 400;
    ck_assert_int_eq(et_run(&j), 0);
    for (uint32_t p = 0; p < 2; p++) {
        ck_assert_msg(j.rc[p] == MPC_ERR_TIMEOUT || j.rc[p] == MPC_ERR_PEER_ABORT, "party %u: %d %s", p, j.rc[p],
                      j.err[p]);
        ck_assert_ptr_null(j.share[p][0]);
    }
    ck_assert(strstr(j.err[0], "preprocessing") || strstr(j.err[1], "preprocessing"));
    ck_assert(j.st[0].run_us < 4000000 && j.st[1].run_us < 4000000);
    et_clear(&j);
    s_inputs_free(c, vals);
    mpc_circ_destroy(&c);
}
END_TEST

/* Options out of range are refused when the engine is made. */
START_TEST(test_stream_opts_refused)
{
    mpc_circuit *c = s_mul(2, 4);
    mpc_mem_hub *hub = mpc_mem_hub_new(2, 1000);
    mpc_transport *t = mpc_mem_transport_new(hub, 0);
    mpc_prep *src = mpc_prep_testlocal_new(s_master, 0, 2);
    mpc_engine_opts o = {.stream = 3, .stream_chunk = MPC_PREP_MAX_BATCH + 1};
    ck_assert_ptr_null(mpc_engine_new(c, 0, t, src, &o));
    o.stream_chunk = 16;
    o.stream_ahead = MPC_PREP_STREAM_AHEAD_MAX + 1;
    ck_assert_ptr_null(mpc_engine_new(c, 0, t, src, &o));
    o.stream_ahead = MPC_PREP_STREAM_AHEAD_MAX;
    mpc_engine *e = mpc_engine_new(c, 0, t, src, &o);
    ck_assert_ptr_nonnull(e);
    mpc_engine_destroy(&e);
    mpc_prep_destroy(&src);
    mpc_transport_destroy(&t);
    mpc_mem_hub_destroy(&hub);
    mpc_circ_destroy(&c);
}
END_TEST

Suite *mpc_test_suite(void)
{
    Suite *s = suite_create("engine_stream");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_pull_matches_direct);
    tcase_add_test(tc, test_pull_misuse_and_early_end);
    tcase_add_test(tc, test_stream_matches_plaintext);
    tcase_add_test(tc, test_stream_slices_and_fetches);
    tcase_add_test(tc, test_sliced_matches_plaintext);
    tcase_add_test(tc, test_sliced_only_products);
    tcase_add_test(tc, test_stream_memory_bounded);
    tcase_add_test(tc, test_stream_source_fails);
    tcase_add_test(tc, test_stream_stall_bounded);
    tcase_add_test(tc, test_stream_opts_refused);
    suite_add_tcase(s, tc);
    return s;
}
