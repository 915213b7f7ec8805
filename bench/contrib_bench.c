/* contrib_bench.c — `mpcbench contrib --triples N --len D --reps R` (bench/run's
 * contrib_1e4x1e3): what one daemon does per contribution, in one process, for 2 daemons
 * (docs/contributions.md).
 *
 * Per repetition, in batches of 256: a simulated client makes 256 contributions (D fix values
 * in -1..1, encoded in the field, shared with mpc_ct_share: a seed for daemon 0, the explicit
 * share for daemon 1) and their CONTRIBUTE frames (untimed, reported as client_sec); then
 * each daemon, timed on its own, decodes each frame (mpc_ct_req_decode), checks the token
 * (mpcd_token_ok), gets its share (daemon 0 expands the seed, daemon 1 reads the payload),
 * offers it (mpcd_collect_offer), and runs its side of the batch's agreement (propose or
 * have, then commit: the running sums).  The network is not in it (no daemon, no mesh):
 * rate = contributions / that daemon's time.  At the end both daemons close and the test
 * checks that their shares add up to the plaintext sums and count.  Bytes per contribution:
 * header frame plus payload, per daemon.  The aggregation inside MPC (two LTZ layers of D+1
 * elements for 2 parties) is measured by bench/run with `mpcbench online --kind ltz`. */
#include "contrib_bench.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "collect.h"
#include "ctwire.h"
#include "field61.h"
#include "flp.h"
#include "mpc_err.h"

#define B 256

static double s_now(void) { return (double)mpc_now_ns() / 1e9; }

static int s_die(const char *what)
{
    fprintf(stderr, "mpcbench contrib: %s\n", what);
    return 2;
}

typedef struct {
    uint8_t *hdr[B];
    size_t   hlen[B];
    uint8_t *pay[B];
    size_t   plen[B];
} frames;

/* One daemon's processing of a batch's frames; 0 or -1. */
static int s_daemon(mpcd_collect *c, const uint8_t key[32], frames *f, uint32_t n, uint64_t len, int seeded,
                    uint64_t *share, uint64_t now)
{
    char err[256];
    for (uint32_t i = 0; i < n; i++) {
        mpc_ct_req r;
        if (mpc_ct_req_decode(f->hdr[i], f->hlen[i], 1, f->plen[i], &r, err, sizeof err) != 0) return -1;
        if (!mpcd_token_ok(key, r.token) || r.count != len || (r.mode == MPC_CW_SEED) != seeded) return -1;
        if (seeded) {
            if (mpc_ct_expand(f->pay[i], len, share) != 0) return -1;
        } else {
            memcpy(share, f->pay[i], len * 8);   /* little-endian hosts (as the daemon's INPUT path) */
        }
        uint8_t ref[MPCD_CONTRIB_REF_BYTES];
        memcpy(ref, r.token, MPCD_TOKEN_ID_BYTES);
        memcpy(ref + MPCD_TOKEN_ID_BYTES, r.nonce, MPC_CT_NONCE_BYTES);
        if (mpcd_collect_offer(c, ref, share, len, now) != 0) return -1;
    }
    return 0;
}

int bench_contrib(uint64_t n, uint64_t len, int reps)
{
    uint8_t key[32];
    randombytes_buf(key, sizeof key);
    mpcd_collect_limits lim = {.max_pending = 2 * B, .max_count = 1u << 24, .pending_ms = 1u << 30};
    uint64_t *x = malloc(len * 8), *last = malloc(len * 8), *share = malloc(len * 8), *want = calloc(len, 8);
    uint32_t *rnd = malloc(len * sizeof *rnd);
    uint8_t (*refs)[MPCD_CONTRIB_REF_BYTES] = malloc(B * MPCD_CONTRIB_REF_BYTES);
    frames f[2];
    memset(f, 0, sizeof f);
    for (int i = 0; i < B; i++) {
        f[0].pay[i] = malloc(MPC_CWIRE_SEED_BYTES);
        f[1].pay[i] = malloc(len * 8);
        if (!f[0].pay[i] || !f[1].pay[i]) return s_die("out of memory");
    }
    if (!x || !last || !share || !want || !refs || !rnd) return s_die("out of memory");
    for (int rep = -1; rep < reps; rep++) {   /* rep -1: warm-up, not printed */
        mpcd_collect *d[2] = {mpcd_collect_new(len, &lim), mpcd_collect_new(len, &lim)};
        if (!d[0] || !d[1]) return s_die("out of memory");
        memset(want, 0, len * 8);
        double t_client = 0, t_d[2] = {0, 0};
        uint64_t bytes[2] = {0, 0}, done = 0, batch_no = 0;
        while (done < n) {
            uint32_t m = n - done < B ? (uint32_t)(n - done) : B;
            double t0 = s_now();
            for (uint32_t i = 0; i < m; i++) {
                randombytes_buf(rnd, len * sizeof *rnd);
                for (uint64_t e = 0; e < len; e++) {   /* round(v·2^16) for v in -1..1 (test data) */
                    int64_t v = (int64_t)(rnd[e] % (2 * 65536 + 1)) - 65536;
                    if (mpc_f61_from_signed(v, &x[e]) != 0) return s_die("encoding");
                    want[e] = mpc_f61_add(want[e], x[e]);
                }
                if (mpc_ct_share(x, len, 2, f[0].pay[i], last) != 0) return s_die("sharing");
                memcpy(f[1].pay[i], last, len * 8);
                mpc_ct_req r;
                memset(&r, 0, sizeof r);
                r.rid = done + i;
                strcpy(r.name, "g");
                uint8_t id[MPCD_TOKEN_ID_BYTES];
                randombytes_buf(id, sizeof id);
                mpcd_token_make(key, id, r.token);
                randombytes_buf(r.nonce, sizeof r.nonce);
                r.count = len;
                for (int p = 0; p < 2; p++) {
                    r.mode = p == 0 ? MPC_CW_SEED : MPC_CW_EXPLICIT;
                    free(f[p].hdr[i]);
                    if (mpc_ct_req_encode(&r, &f[p].hdr[i], &f[p].hlen[i]) != 0) return s_die("encoding a frame");
                    f[p].plen[i] = mpc_ct_req_payload_len(&r);
                    bytes[p] += f[p].hlen[i] + f[p].plen[i];
                }
            }
            t_client += s_now() - t0;
            for (int p = 0; p < 2; p++) {
                t0 = s_now();
                if (s_daemon(d[p], key, &f[p], m, len, p == 0, share, batch_no) != 0) return s_die("a daemon refused");
                t_d[p] += s_now() - t0;
            }
            /* the agreement: daemon 0 proposes, daemon 1 answers, both commit */
            uint8_t bm[2][B / 8];
            uint64_t b;
            t0 = s_now();
            uint32_t k = mpcd_collect_propose(d[0], refs, B, &b);
            if (mpcd_collect_have(d[0], b, (const uint8_t(*)[MPCD_CONTRIB_REF_BYTES])refs, k, bm[0]) != 0)
                return s_die("have");
            t_d[0] += s_now() - t0;
            t0 = s_now();
            if (mpcd_collect_have(d[1], b, (const uint8_t(*)[MPCD_CONTRIB_REF_BYTES])refs, k, bm[1]) != 0)
                return s_die("have");
            t_d[1] += s_now() - t0;
            for (uint32_t i = 0; i < B / 8; i++) bm[0][i] &= bm[1][i];
            for (int p = 0; p < 2; p++) {
                t0 = s_now();
                if (mpcd_collect_commit(d[p], b, (const uint8_t(*)[MPCD_CONTRIB_REF_BYTES])refs, k, bm[0]) != 0)
                    return s_die("commit");
                t_d[p] += s_now() - t0;
            }
            done += m;
            batch_no++;
        }
        uint64_t *s0 = malloc((len + 1) * 8), *s1 = malloc((len + 1) * 8);
        mpcd_collect_close(d[0], 1, s0);
        mpcd_collect_close(d[1], 0, s1);
        if (s0[len] + s1[len] != n) return s_die("count mismatch");
        for (uint64_t e = 0; e < len; e++)
            if (mpc_f61_add(s0[e], s1[e]) != want[e]) return s_die("sum mismatch");
        free(s0);
        free(s1);
        mpcd_collect_free(&d[0]);
        mpcd_collect_free(&d[1]);
        if (rep >= 0)
            printf("{\"node\": 0, \"rep\": %d, \"n\": %llu, \"len\": %llu, \"client_sec\": %.6f, "
                   "\"daemon0_sec\": %.6f, \"daemon1_sec\": %.6f, \"bytes0\": %.1f, \"bytes1\": %.1f}\n",
                   rep, (unsigned long long)n, (unsigned long long)len, t_client, t_d[0], t_d[1],
                   (double)bytes[0] / (double)n, (double)bytes[1] / (double)n);
    }
    for (int p = 0; p < 2; p++)
        for (int i = 0; i < B; i++) {
            free(f[p].hdr[i]);
            free(f[p].pay[i]);
        }
    free(x);
    free(last);
    free(share);
    free(want);
    free(refs);
    free(rnd);
    return 0;
}

/* ---- with validity proofs ---- */

/* The client side of one contribution (untimed): values in -1..1, encoded, proved and shared
 * (daemon 0 the explicit share, the leader; daemon 1 a seed), both frames made. */
static int s_valid_client(const mpc_flp *fl, const uint8_t key[32], uint64_t rid, int64_t *v, uint64_t *meas,
                          uint64_t *want, frames *f, uint32_t i, uint64_t *bytes)
{
    uint32_t *rnd = (uint32_t *)meas;   /* scratch before the encoding */
    randombytes_buf(rnd, fl->dim * sizeof *rnd);
    for (uint64_t e = 0; e < fl->dim; e++) {
        v[e] = (int64_t)(rnd[e] % (2 * 65536 + 1)) - 65536;
        uint64_t x;
        if (mpc_f61_from_signed(v[e], &x) != 0) return -1;
        want[e] = mpc_f61_add(want[e], x);
    }
    if (mpc_flp_encode(fl, v, meas) != 0) return -1;
    mpc_ct_req r;
    memset(&r, 0, sizeof r);
    r.rid = rid;
    strcpy(r.name, "g");
    uint8_t id[MPCD_TOKEN_ID_BYTES];
    randombytes_buf(id, sizeof id);
    mpcd_token_make(key, id, r.token);
    randombytes_buf(r.nonce, sizeof r.nonce);
    r.count = fl->dim;
    size_t pub_len = mpc_flp_public_share_size(2);
    uint8_t pub[64];
    uint8_t *sh[2] = {f[0].pay[i], f[1].pay[i]};
    if (mpc_flp_shard(fl, 2, 1, meas, r.nonce, sh, pub) != 0) return -1;
    for (int p = 0; p < 2; p++) {
        size_t in = mpc_flp_input_share_size(fl, p > 0);
        memcpy(f[p].pay[i] + in, pub, pub_len);
        r.mode = p == 0 ? MPC_CW_EXPLICIT : MPC_CW_SEED;
        r.proof_len = in + pub_len;
        free(f[p].hdr[i]);
        if (mpc_ct_req_encode(&r, &f[p].hdr[i], &f[p].hlen[i]) != 0) return -1;
        f[p].plen[i] = r.proof_len;
        bytes[p] += f[p].hlen[i] + f[p].plen[i];
    }
    return 0;
}

/* Daemon `party`'s work on a batch's frames as they arrive (timed): decode, token, prep,
 * offer with the prep message.  0 or -1. */
static int s_valid_daemon(mpcd_collect *c, const mpc_flp *fl, const uint8_t key[32], const uint8_t vkey[32],
                          frames *f, uint32_t n, unsigned party, uint64_t *share, uint8_t *msg, uint64_t now)
{
    char err[256];
    size_t in = mpc_flp_input_share_size(fl, party > 0), pub_len = mpc_flp_public_share_size(2);
    for (uint32_t i = 0; i < n; i++) {
        mpc_ct_req r;
        if (mpc_ct_req_decode(f->hdr[i], f->hlen[i], 1, f->plen[i], &r, err, sizeof err) != 0) return -1;
        if (!mpcd_token_ok(key, r.token) || r.count != fl->dim || r.proof_len != in + pub_len) return -1;
        if (mpc_flp_prep(fl, 2, party, vkey, r.nonce, f->pay[i] + in, pub_len, f->pay[i], in, share, msg) != 0)
            return -1;
        uint8_t ref[MPCD_CONTRIB_REF_BYTES];
        memcpy(ref, r.token, MPCD_TOKEN_ID_BYTES);
        memcpy(ref + MPCD_TOKEN_ID_BYTES, r.nonce, MPC_CT_NONCE_BYTES);
        if (mpcd_collect_offer_msg(c, ref, share, fl->dim, msg, now) != 0) return -1;
    }
    return 0;
}

/* One batch's agreement with the decision (as mpcd/contrib_daemon.c): daemon 1 answers HAVE
 * with its prep messages, daemon 0 decides each and both reject and commit.  0 or -1. */
static int s_valid_agree(mpcd_collect **d, const mpc_flp *fl, uint8_t (*refs)[MPCD_CONTRIB_REF_BYTES],
                         uint8_t *preps, double *t_d)
{
    size_t ps = mpc_flp_prep_size(fl);
    uint8_t bm[2][B / 8], inval[B / 8] = {0};
    uint64_t b;
    double t0 = s_now();
    uint32_t k = mpcd_collect_propose(d[0], refs, B, &b);
    if (mpcd_collect_have(d[0], b, (const uint8_t(*)[MPCD_CONTRIB_REF_BYTES])refs, k, bm[0]) != 0) return -1;
    t_d[0] += s_now() - t0;
    t0 = s_now();
    if (mpcd_collect_have(d[1], b, (const uint8_t(*)[MPCD_CONTRIB_REF_BYTES])refs, k, bm[1]) != 0) return -1;
    for (uint32_t i = 0; i < k; i++) {
        const uint8_t *m = mpcd_collect_msg(d[1], refs[i]);
        if (m) memcpy(preps + (size_t)i * ps, m, ps);
    }
    t_d[1] += s_now() - t0;
    t0 = s_now();
    for (uint32_t i = 0; i < B / 8; i++) bm[0][i] &= bm[1][i];
    for (uint32_t i = 0; i < k; i++) {
        if (!(bm[0][i / 8] >> (i % 8) & 1)) continue;
        const uint8_t *msgs[2] = {mpcd_collect_msg(d[0], refs[i]), preps + (size_t)i * ps};
        if (mpc_flp_prep_decide(fl, 2, refs[i] + MPCD_TOKEN_ID_BYTES, msgs) == 0) continue;
        bm[0][i / 8] &= (uint8_t) ~(1u << (i % 8));
        inval[i / 8] |= (uint8_t)(1u << (i % 8));
    }
    t_d[0] += s_now() - t0;
    for (int p = 0; p < 2; p++) {
        t0 = s_now();
        if (mpcd_collect_reject(d[p], b, (const uint8_t(*)[MPCD_CONTRIB_REF_BYTES])refs, k, inval) != 0 ||
            mpcd_collect_commit(d[p], b, (const uint8_t(*)[MPCD_CONTRIB_REF_BYTES])refs, k, bm[0]) != 0)
            return -1;
        t_d[p] += s_now() - t0;
    }
    return 0;
}

int bench_contrib_valid(uint64_t n, uint64_t len, int reps, uint64_t l2_bound)
{
    mpc_flp fl;
    if (mpc_flp_init(&fl, len, -65536, 65536, l2_bound, 2) != 0) return s_die("flp parameters");
    uint8_t key[32], vkey[32];
    randombytes_buf(key, sizeof key);
    randombytes_buf(vkey, sizeof vkey);
    size_t ps = mpc_flp_prep_size(&fl), pub_len = mpc_flp_public_share_size(2);
    mpcd_collect_limits lim = {.max_pending = 2 * B, .max_count = 1u << 24, .pending_ms = 1u << 30,
                               .msg_bytes = (uint32_t)ps};
    uint64_t *share = malloc(len * 8), *want = calloc(len, 8), *meas = malloc(fl.meas_len * 8 + len * 4);
    int64_t *v = malloc(len * sizeof *v);
    uint8_t *msg = malloc(ps), *preps = malloc((size_t)B * ps);
    uint8_t (*refs)[MPCD_CONTRIB_REF_BYTES] = malloc(B * MPCD_CONTRIB_REF_BYTES);
    frames f[2];
    memset(f, 0, sizeof f);
    for (int i = 0; i < B; i++)
        for (int p = 0; p < 2; p++)
            if (!(f[p].pay[i] = malloc(mpc_flp_input_share_size(&fl, p > 0) + pub_len))) return s_die("out of memory");
    if (!share || !want || !meas || !v || !msg || !preps || !refs) return s_die("out of memory");
    for (int rep = -1; rep < reps; rep++) {   /* rep -1: warm-up, not printed */
        mpcd_collect *d[2] = {mpcd_collect_new(len, &lim), mpcd_collect_new(len, &lim)};
        if (!d[0] || !d[1]) return s_die("out of memory");
        memset(want, 0, len * 8);
        double t_client = 0, t_d[2] = {0, 0};
        uint64_t bytes[2] = {0, 0}, done = 0, batch_no = 0;
        while (done < n) {
            uint32_t m = n - done < B ? (uint32_t)(n - done) : B;
            double t0 = s_now();
            for (uint32_t i = 0; i < m; i++)
                if (s_valid_client(&fl, key, done + i, v, meas, want, f, i, bytes) != 0) return s_die("proving");
            t_client += s_now() - t0;
            for (unsigned p = 0; p < 2; p++) {
                t0 = s_now();
                if (s_valid_daemon(d[p], &fl, key, vkey, &f[p], m, p, share, msg, batch_no) != 0)
                    return s_die("a daemon refused");
                t_d[p] += s_now() - t0;
            }
            if (s_valid_agree(d, &fl, refs, preps, t_d) != 0) return s_die("the agreement failed");
            done += m;
            batch_no++;
        }
        uint64_t *s0 = malloc((len + 1) * 8), *s1 = malloc((len + 1) * 8);
        mpcd_collect_close(d[0], 1, s0);
        mpcd_collect_close(d[1], 0, s1);
        if (s0[len] + s1[len] != n || mpcd_collect_invalid(d[0]) != 0) return s_die("count mismatch");
        for (uint64_t e = 0; e < len; e++)
            if (mpc_f61_add(s0[e], s1[e]) != want[e]) return s_die("sum mismatch");
        free(s0);
        free(s1);
        mpcd_collect_free(&d[0]);
        mpcd_collect_free(&d[1]);
        if (rep >= 0)
            printf("{\"node\": 0, \"rep\": %d, \"n\": %llu, \"len\": %llu, \"client_sec\": %.6f, "
                   "\"daemon0_sec\": %.6f, \"daemon1_sec\": %.6f, \"bytes0\": %.1f, \"bytes1\": %.1f, "
                   "\"prep_bytes\": %zu}\n",
                   rep, (unsigned long long)n, (unsigned long long)len, t_client, t_d[0], t_d[1],
                   (double)bytes[0] / (double)n, (double)bytes[1] / (double)n, ps);
    }
    for (int p = 0; p < 2; p++)
        for (int i = 0; i < B; i++) {
            free(f[p].hdr[i]);
            free(f[p].pay[i]);
        }
    free(share);
    free(want);
    free(meas);
    free(v);
    free(msg);
    free(preps);
    free(refs);
    return 0;
}
