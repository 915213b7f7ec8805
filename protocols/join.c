/* join.c — the two-party private join over mpc_transport (join.h, docs/join.md). */
#include "join.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "mpc_err.h"
#include "osn.h"
#include "prg.h"
#include "psi.h"

#define S_VERSION   2     /* 2: X25519 points, the salt confirmation */
#define S_HELLO_W   14
#define S_F_DUP     1u    /* hello flag: my keys hold a duplicate */
#define S_F_PEERCOL 2u    /* hello flag: I hold shares of the peer's columns */

enum { S_SEQ_HELLO = MPC_JOIN_SEQ0, S_SEQ_X, S_SEQ_Y, S_SEQ_Z, S_SEQ_IND, S_SEQ_OT = 16, S_SEQ_OSN = 64 };
/* Point lists go in messages of at most r->chunk points; chunk c of list X, Y or Z has the
 * sequence number (S_SEQ_X, Y or Z) << 32 | c. */

typedef struct {
    mpc_transport     *t;
    uint32_t           peer;
    mpc_join_role      role;
    uint64_t           stream;
    const mpc_join_in *in;
    int                to;
    uint64_t           na, nb;          /* rows of A and of B */
    uint32_t           ca, cb;
    int                a_has_bcols;     /* A holds shares of B's columns */
    uint8_t            salt[MPC_PSI_SALTBYTES];
    uint64_t           seq;             /* the next OSN run's base */
    uint64_t           chunk;           /* points per message */
    mpc_osn_ot        *ot;
    int                quiet;           /* both parties saw the failure in the hellos: no ABORT */
    char              *err;
    size_t             errlen;
} s_run;

/* Wipes and frees n words (NULL accepted): shares, permutations, match positions. */
static void s_wfree(void *p, uint64_t words)
{
    if (!p) return;
    sodium_memzero(p, words * 8);
    free(p);
}

/* MPC_ERR_CANCELLED when the caller's stop flag is set, MPC_ERR_TIMEOUT past its deadline,
 * MPC_ERR_PEER_ABORT when the peer's ABORT of the stream is held; else 0. */
static int s_stopped(const s_run *r)
{
    const mpc_join_in *in = r->in;
    if (in->stop && atomic_load(in->stop)) return MPC_ERR_CANCELLED;
    if (in->deadline_ms && mpc_now_ms() >= in->deadline_ms) return MPC_ERR_TIMEOUT;
    uint32_t from, lost;
    if (mpc_transport_abort_info(r->t, r->stream, &from, &lost)) return MPC_ERR_PEER_ABORT;
    return 0;
}

/* mpc_recv within r->to, in slices of MPC_JOIN_STOP_SLICE_MS when the caller can stop the
 * run, looking at the stop flag and the deadline between them. */
static int s_recv(const s_run *r, uint64_t seq, uint64_t *out, uint64_t count)
{
    if ((!r->in->stop && !r->in->deadline_ms) || r->to <= 0)   /* slices need a bound in all */
        return mpc_recv(r->t, r->peer, MPC_MSG_INPUT, r->stream, seq, out, count, r->to);
    uint64_t t0 = mpc_now_ms();
    for (;;) {
        int e = s_stopped(r);
        if (e && e != MPC_ERR_PEER_ABORT) return e;   /* the peer's ABORT: recv returns it */
        int slice = MPC_JOIN_STOP_SLICE_MS;
        uint64_t spent = mpc_now_ms() - t0;
        if (spent >= (uint64_t)r->to) return MPC_ERR_TIMEOUT;
        if ((uint64_t)r->to - spent < (uint64_t)slice) slice = (int)((uint64_t)r->to - spent);
        e = mpc_recv(r->t, r->peer, MPC_MSG_INPUT, r->stream, seq, out, count, slice);
        if (e != MPC_ERR_TIMEOUT) return e;
    }
}

static int s_stop_fn(void *ctx)
{
    return s_stopped(ctx);
}

/* Group operations with a stop check before every block of MPC_PSI_STOP_ROWS rows: hashes
 * and blinding of own keys (keys != 0: mpc_psi_hash_blind) or the blinding of the peer's
 * points (mpc_psi_blind), out[i] for the rows in `order` (NULL: 0..n-1). */
static int s_group_ops(const s_run *r, int keys, uint8_t *out, const uint8_t *in_pts, const uint32_t *order,
                       uint64_t n, const uint8_t *scalar)
{
    const mpc_join_in *in = r->in;
    mpc_psi_stop st = {s_stop_fn, (void *)(uintptr_t)r};
    return keys ? mpc_psi_hash_blind_stop(out, in->key_data, in->key_off, order, n, r->salt, scalar, in->par, &st)
                : mpc_psi_blind_stop(out, in_pts, order, n, scalar, in->par, &st);
}

static int s_send_pts(const s_run *r, uint64_t list, const uint8_t *pts, uint64_t n)
{
    const uint64_t ch = r->chunk;
    for (uint64_t c = 0; c * ch < n || (n == 0 && c == 0); c++) {
        uint64_t k = n - c * ch < ch ? n - c * ch : ch;
        int e = s_stopped(r);
        if (e) return e;
        e = mpc_send(r->t, r->peer, MPC_MSG_INPUT, r->stream, list << 32 | c,
                         (const uint64_t *)(pts + 32 * c * ch), 4 * k);
        if (e) return e;
    }
    return 0;
}

static int s_recv_pts(const s_run *r, uint64_t list, uint8_t *pts, uint64_t n)
{
    const uint64_t ch = r->chunk;
    for (uint64_t c = 0; c * ch < n || (n == 0 && c == 0); c++) {
        uint64_t k = n - c * ch < ch ? n - c * ch : ch;
        int e = s_recv(r, list << 32 | c, (uint64_t *)(pts + 32 * c * ch), 4 * k);
        if (e) return e;
    }
    return 0;
}

static int s_fail(s_run *r, int code, const char *msg)
{
    if (code == MPC_ERR_CANCELLED) msg = "stopped: the run was cancelled";
    else if (code == MPC_ERR_TIMEOUT && r->in && r->in->deadline_ms && mpc_now_ms() >= r->in->deadline_ms)
        msg = "stopped: the deadline passed";
    else if (code == MPC_ERR_PEER_ABORT)
        msg = "the peer stopped the run (its ABORT)";
    if (r->err && r->errlen && !r->err[0]) snprintf(r->err, r->errlen, "join: %s", msg);
    return code;
}

/* A uniformly random gather permutation of n (Fisher–Yates on a fresh PRG stream). */
static int s_random_perm(uint32_t *p, uint64_t n, uint64_t index)
{
    if (n == 0) return 0;
    uint8_t *seed = mpc_prg_seed_new();
    uint64_t *rnd = malloc(n * 8);
    int r = MPC_ERR_NOMEM;
    if (seed && rnd && (r = mpc_prg_expand(rnd, n, seed, MPC_PRG_STREAM(MPC_PRG_D_JOIN, index), 0)) == 0) {
        for (uint64_t i = 0; i < n; i++) p[i] = (uint32_t)i;
        for (uint64_t i = n - 1; i > 0; i--) {
            uint64_t j = (uint64_t)(((unsigned __int128)rnd[i] * (i + 1)) >> 64);
            uint32_t tmp = p[i]; p[i] = p[j]; p[j] = tmp;
        }
    }
    if (rnd) sodium_memzero(rnd, n * 8);
    free(rnd);
    mpc_prg_seed_free(&seed);
    return r;
}

/* Hello both ways: sizes, columns, flags, nonces and the salt confirmation (psi.h); the
 * run's salt. */
static int s_hello(s_run *r)
{
    const mpc_join_in *in = r->in;
    int dup = mpc_psi_has_dup(in->key_data, in->key_off, in->rows);
    if (dup < 0) return s_fail(r, dup, "bad key offsets");
    const uint64_t *peercol = r->role == MPC_JOIN_A ? in->share_b : in->share_a;
    uint64_t h[S_HELLO_W], p[S_HELLO_W];
    h[0] = S_VERSION;
    h[1] = r->role;
    h[2] = in->rows;
    h[3] = in->cols_a;
    h[4] = in->cols_b;
    h[5] = (dup ? S_F_DUP : 0) | (peercol ? S_F_PEERCOL : 0);
    randombytes_buf(h + 6, 32);
    mpc_psi_salt_check((uint8_t *)(h + 10), in->salt, (const uint8_t *)(h + 6), (uint32_t)r->role);
    int e = mpc_send(r->t, r->peer, MPC_MSG_INPUT, r->stream, S_SEQ_HELLO, h, S_HELLO_W);
    if (!e) e = s_recv(r, S_SEQ_HELLO, p, S_HELLO_W);
    if (e) return s_fail(r, e, "hello not exchanged");
    if (p[0] != S_VERSION || p[1] != (uint64_t)(1 - r->role) || p[2] > MPC_JOIN_MAX_ROWS || (p[5] & ~3ull))
        return s_fail(r, MPC_ERR_PROTOCOL, "malformed hello from the peer");
    const uint64_t *ha = r->role == MPC_JOIN_A ? h : p, *hb = r->role == MPC_JOIN_A ? p : h;
    int dup_a = (ha[5] & S_F_DUP) != 0, dup_b = (hb[5] & S_F_DUP) != 0;
    /* both sides see these in the two hellos and fail alike; an ABORT could overtake the
     * peer's hello and hide the reason from it */
    r->quiet = 1;
    if (dup_a || dup_b)
        return s_fail(r, MPC_ERR_INPUT, dup_a && dup_b ? "duplicate keys on sides A and B"
                                        : dup_a ? "duplicate keys on side A" : "duplicate keys on side B");
    if (p[3] != in->cols_a || p[4] != in->cols_b)
        return s_fail(r, MPC_ERR_INPUT, "the parties disagree on the payload columns");
    uint8_t want[32];
    mpc_psi_salt_check(want, in->salt, (const uint8_t *)(p + 6), (uint32_t)(1 - r->role));
    int same = sodium_memcmp(want, p + 10, sizeof want) == 0;
    sodium_memzero(want, sizeof want);
    if (!same) return s_fail(r, MPC_ERR_PROTOCOL, "the parties disagree on the join's salt");
    r->quiet = 0;
    if (peercol && in->peer_rows != p[2])
        return s_fail(r, MPC_ERR_INPUT, "the shares of the peer's columns do not have its row count");
    r->na = ha[2];
    r->nb = hb[2];
    r->ca = in->cols_a;
    r->cb = in->cols_b;
    r->a_has_bcols = (ha[5] & S_F_PEERCOL) != 0;
    mpc_psi_salt(r->salt, in->salt, (const uint8_t *)(ha + 6), (const uint8_t *)(hb + 6));
    return 0;
}

/* An OSN over n rows and W columns (column-major), in groups of columns that keep each
 * message within the OSN's limit.  src != NULL: I permute; else I hold the data x. */
static int s_osn(s_run *r, const uint32_t *src, const uint64_t *x, uint64_t n, uint32_t W, uint64_t *out)
{
    uint64_t N = mpc_benes_size(n), gw = (1ull << 22) / N;
    if (gw > MPC_OSN_MAX_W) gw = MPC_OSN_MAX_W;
    for (uint32_t c0 = 0; c0 < W; c0 += (uint32_t)gw) {
        uint32_t w = W - c0 < gw ? W - c0 : (uint32_t)gw;
        int e = s_stopped(r);
        if (e) return s_fail(r, e, "stopped");
        e = src ? mpc_osn_permuter(r->ot, r->t, r->peer, r->stream, r->seq, src, n, w, out + (uint64_t)c0 * n, r->to)
                    : mpc_osn_sender(r->ot, r->t, r->peer, r->stream, r->seq, x + (uint64_t)c0 * n, n, w,
                                     out + (uint64_t)c0 * n, r->to);
        r->seq += MPC_OSN_SEQS;
        if (e) return s_fail(r, e, "a permutation (OSN) run failed");
    }
    return 0;
}

static int s_ot(s_run *r)
{
    if (r->ca == 0 && !(r->a_has_bcols && r->cb)) return 0;
    uint8_t sid[32];
    crypto_generichash(sid, 32, r->salt, sizeof r->salt, (const uint8_t *)"mpcd-join-osn", 13);
    int e = mpc_osn_ot_setup(r->t, r->peer, r->stream, S_SEQ_OT, sid, r->to, &r->ot);
    return e ? s_fail(r, e, "OT setup failed") : 0;
}

/* A's side: blinded keys out, B's answers in, the match; the indicator shares. */
static int s_psi_a(s_run *r, uint64_t *pos, uint64_t *ind, uint64_t *count)
{
    uint8_t *a = mpc_psi_scalar_new(), *x = malloc(r->na * 32 + 32), *y = malloc(r->nb * 32 + 32),
            *y2 = malloc(r->nb * 32 + 32), *seed = mpc_prg_seed_new();
    int e = MPC_ERR_NOMEM;
    const char *what = "out of memory";
    if (!a || !x || !y || !y2 || !seed) goto out;
    what = "hashing the keys failed";
    if ((e = s_group_ops(r, 1, x, NULL, NULL, r->na, a))) goto out;
    what = "the blinded keys were not exchanged";
    if ((e = s_send_pts(r, S_SEQ_X, x, r->na))) goto out;
    if ((e = s_recv_pts(r, S_SEQ_Y, y, r->nb))) goto out;
    what = "an invalid point from the peer";
    if ((e = s_group_ops(r, 0, y2, y, NULL, r->nb, a))) goto out;
    what = "the blinded keys were not exchanged";
    if ((e = s_recv_pts(r, S_SEQ_Z, x, r->na))) goto out;
    int64_t m = mpc_psi_match(x, r->na, y2, r->nb, pos);
    what = "the peer's points repeat";
    if (m < 0) { e = (int)m; goto out; }
    *count = (uint64_t)m;
    /* indicator: A's share m_j − r_j, B's r_j from the seed sent */
    what = "the indicator was not shared";
    if ((e = mpc_prg_expand(ind, r->nb, seed, MPC_PRG_STREAM(MPC_PRG_D_JOIN, 0), 0))) goto out;
    for (uint64_t j = 0; j < r->nb; j++) ind[j] = (uint64_t)(pos[j] != UINT64_MAX) - ind[j];
    e = mpc_send(r->t, r->peer, MPC_MSG_INPUT, r->stream, S_SEQ_IND, (const uint64_t *)seed, 4);
out:
    mpc_psi_scalar_free(&a);
    mpc_prg_seed_free(&seed);
    free(x); free(y); free(y2);
    return e ? s_fail(r, e, what) : 0;
}

/* B's side: its shuffle σ of its own rows and π of A's; blinded keys both ways; the
 * indicator shares. */
static int s_psi_b(s_run *r, uint32_t *sigma, uint32_t *pi, uint64_t *ind)
{
    uint8_t *b = mpc_psi_scalar_new(), *x = malloc(r->na * 32 + 32), *z = malloc(r->na * 32 + 32),
            *y = malloc(r->nb * 32 + 32), seed[32];
    int e = MPC_ERR_NOMEM;
    const char *what = "out of memory";
    if (!b || !x || !y || !z) goto out;
    if ((e = s_random_perm(sigma, r->nb, 1)) || (e = s_random_perm(pi, r->na, 2))) goto out;
    what = "hashing the keys failed";
    if ((e = s_group_ops(r, 1, y, NULL, sigma, r->nb, b))) goto out;
    what = "the blinded keys were not exchanged";
    if ((e = s_send_pts(r, S_SEQ_Y, y, r->nb))) goto out;
    if ((e = s_recv_pts(r, S_SEQ_X, x, r->na))) goto out;
    what = "an invalid point from the peer";
    if ((e = s_group_ops(r, 0, z, x, pi, r->na, b))) goto out;
    what = "the blinded keys were not exchanged";
    if ((e = s_send_pts(r, S_SEQ_Z, z, r->na))) goto out;
    what = "the indicator was not shared";
    if ((e = s_recv(r, S_SEQ_IND, (uint64_t *)seed, 4))) goto out;
    e = mpc_prg_expand(ind, r->nb, seed, MPC_PRG_STREAM(MPC_PRG_D_JOIN, 0), 0);
    sodium_memzero(seed, sizeof seed);
out:
    mpc_psi_scalar_free(&b);
    free(x); free(y); free(z);
    return e ? s_fail(r, e, what) : 0;
}

/* ρ: output j < n_B takes the π-ordered position pos[j] where matched; every other output
 * an unused input, so ρ is a permutation of n2 = max(n_A, n_B). */
static int s_rho(const uint64_t *pos, uint64_t nb, uint64_t n2, uint32_t *rho)
{
    uint8_t *used = calloc(n2 ? n2 : 1, 1);
    if (!used) return MPC_ERR_NOMEM;
    for (uint64_t j = 0; j < nb; j++)
        if (pos[j] != UINT64_MAX) used[pos[j]] = 1;
    uint64_t next = 0;
    for (uint64_t j = 0; j < n2; j++) {
        if (j < nb && pos[j] != UINT64_MAX) { rho[j] = (uint32_t)pos[j]; continue; }
        while (used[next]) next++;
        used[next] = 1;
        rho[j] = (uint32_t)next;
    }
    free(used);
    return 0;
}

/* A's payload: B's columns (σ-OSN as data holder if A holds shares of them), A's columns
 * through π (data holder) then ρ (permuter). */
static int s_payload_a(s_run *r, const uint64_t *pos, uint64_t *outa, uint64_t *outb)
{
    const mpc_join_in *in = r->in;
    int e = 0;
    if (r->a_has_bcols && r->cb && (e = s_osn(r, NULL, in->share_b, r->nb, r->cb, outb))) return e;
    if (r->ca == 0) return 0;
    uint64_t n2 = r->na > r->nb ? r->na : r->nb, na = r->na, W = r->ca;
    uint64_t *zero = in->share_a ? NULL : calloc(na * W + 1, 8), *s1 = calloc(n2 * W + 1, 8),
             *o2 = malloc(n2 * W * 8 + 8);
    uint32_t *rho = malloc(n2 * 4 + 8);
    e = MPC_ERR_NOMEM;
    if ((!in->share_a && !zero) || !s1 || !o2 || !rho) goto out;
    if ((e = s_rho(pos, r->nb, n2, rho))) goto out;
    /* s1: A's share of A's columns in π order (na rows), then padded to n2 */
    if ((e = s_osn(r, NULL, in->share_a ? in->share_a : zero, na, r->ca, s1))) goto out;
    for (uint64_t c = W; c-- > 0;) {
        memmove(s1 + c * n2, s1 + c * na, na * 8);
        memset(s1 + c * n2 + na, 0, (n2 - na) * 8);
    }
    if ((e = s_osn(r, rho, NULL, n2, r->ca, o2))) goto out;
    for (uint64_t c = 0; c < W; c++)
        for (uint64_t j = 0; j < r->nb; j++) outa[c * r->nb + j] = o2[c * n2 + j] + s1[c * n2 + rho[j]];
out:
    free(zero);
    s_wfree(s1, n2 * W + 1);
    s_wfree(o2, n2 * W + 1);
    s_wfree(rho, n2 / 2 + 1);
    return e;
}

static int s_payload_b(s_run *r, const uint32_t *sigma, const uint32_t *pi, uint64_t *outa, uint64_t *outb)
{
    const mpc_join_in *in = r->in;
    int e = 0;
    uint64_t na = r->na, nb = r->nb;
    if (r->a_has_bcols && r->cb && (e = s_osn(r, sigma, NULL, nb, r->cb, outb))) return e;
    for (uint64_t c = 0; c < r->cb && in->share_b; c++)
        for (uint64_t j = 0; j < nb; j++) outb[c * nb + j] += in->share_b[c * nb + sigma[j]];
    if (r->ca == 0) return 0;
    uint64_t n2 = na > nb ? na : nb, W = r->ca;
    uint64_t *s1 = calloc(n2 * W + 1, 8), *o2 = malloc(n2 * W * 8 + 8);
    e = MPC_ERR_NOMEM;
    if (!s1 || !o2) goto out;
    if ((e = s_osn(r, pi, NULL, na, r->ca, s1))) goto out;
    for (uint64_t c = W; c-- > 0;) {
        memmove(s1 + c * n2, s1 + c * na, na * 8);
        memset(s1 + c * n2 + na, 0, (n2 - na) * 8);
        for (uint64_t p = 0; p < na && in->share_a; p++) s1[c * n2 + p] += in->share_a[c * na + pi[p]];
    }
    if ((e = s_osn(r, NULL, s1, n2, r->ca, o2))) goto out;
    for (uint64_t c = 0; c < W; c++) memcpy(outa + c * nb, o2 + c * n2, nb * 8);
out:
    s_wfree(s1, n2 * W + 1);
    s_wfree(o2, n2 * W + 1);
    return e;
}

static int s_check_in(const mpc_join_in *in)
{
    if (!in || in->rows > MPC_JOIN_MAX_ROWS || !in->key_off || in->cols_a > MPC_JOIN_MAX_COLS ||
        in->cols_b > MPC_JOIN_MAX_COLS || in->peer_rows > MPC_JOIN_MAX_ROWS)
        return 0;
    return 1;
}

int mpc_join_run(mpc_transport *t, uint32_t peer, mpc_join_role role, uint64_t stream,
                 const mpc_join_in *in, mpc_join_out *out, char *err, size_t errlen)
{
    if (err && errlen) err[0] = 0;
    if (out) memset(out, 0, sizeof *out);
    s_run r = {.t = t, .peer = peer, .role = role, .stream = stream, .in = in, .err = err,
               .errlen = errlen, .seq = S_SEQ_OSN};
    if (!t || !out || peer == t->self || (role != MPC_JOIN_A && role != MPC_JOIN_B) || !s_check_in(in))
        return s_fail(&r, MPC_ERR_INVALID, "invalid arguments");
    r.to = in->timeout_ms;
    r.chunk = in->chunk_points ? in->chunk_points : MPC_JOIN_CHUNK;
    uint64_t sent0 = t->bytes_sent, *pos = NULL, *tab = NULL;
    uint32_t *sigma = NULL, *pi = NULL;
    int e = s_hello(&r);
    if (e) goto out;
    out->rows = r.nb;
    out->cols = 1 + r.ca + r.cb;
    out->intersection = UINT64_MAX;
    tab = calloc(out->cols * r.nb + 1, 8);
    pos = malloc(r.nb * 8 + 8);
    sigma = malloc(r.nb * 4 + 8);
    pi = malloc(r.na * 4 + 8);
    if (!tab || !pos || !sigma || !pi) { e = s_fail(&r, MPC_ERR_NOMEM, "out of memory"); goto out; }
    uint64_t *outa = tab + r.nb, *outb = tab + (1 + (uint64_t)r.ca) * r.nb, t0 = mpc_now_ns();
    e = role == MPC_JOIN_A ? s_psi_a(&r, pos, tab, &out->intersection) : s_psi_b(&r, sigma, pi, tab);
    if (e) goto out;
    uint64_t t1 = mpc_now_ns();
    out->psi_ns = t1 - t0;
    if ((e = s_stopped(&r)) || (e = s_ot(&r))) goto out;
    e = role == MPC_JOIN_A ? s_payload_a(&r, pos, outa, outb) : s_payload_b(&r, sigma, pi, outa, outb);
    if (e) goto out;
    out->osn_ns = mpc_now_ns() - t1;
out:
    mpc_osn_ot_free(&r.ot);
    s_wfree(pos, r.nb + 1);
    s_wfree(sigma, r.nb / 2 + 1);
    s_wfree(pi, r.na / 2 + 1);
    if (e) {
        if (e != MPC_ERR_PEER_ABORT && !r.quiet) (void)mpc_send_abort(t, peer, stream, e, MPC_ABORT_NO_PARTY);
        if (tab) sodium_memzero(tab, (out->cols * r.nb + 1) * 8);
        free(tab);
        memset(out, 0, sizeof *out);
        return s_fail(&r, e, "failed");
    }
    out->share = tab;
    out->bytes_sent = t->bytes_sent - sent0;
    return 0;
}

void mpc_join_out_free(mpc_join_out *out)
{
    if (!out) return;
    if (out->share) {
        sodium_memzero(out->share, (size_t)out->cols * out->rows * 8);
        free(out->share);
    }
    memset(out, 0, sizeof *out);
}
