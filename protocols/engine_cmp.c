/* engine_cmp.c — comparison batches run apart (docs/engine.md, "Comparisons run apart").
 *
 * A layer's LTZ (or EQZ) batch normally rides along the next 8 rounds as a flight
 * (engine.c): every element's edaBit, binary triples, daBit and carry state are held from
 * the first sub-round to the last, about 160 bytes per element — 5 GB for 3 × 10^7
 * comparisons.  A batch of more than cmp_apart elements instead runs before its layer's
 * round in parts of cmp_apart elements: each part fetches its own material, runs its 8
 * sub-rounds in messages of its own, writes its results into the gates' wires and is wiped
 * before the next part starts.  The results are ready earlier than the layering needs them
 * (the consumers are 8 layers on), so nothing else changes.  Which batches run apart follows
 * from the circuit and cmp_apart alone, so every party decides alike. */
#include "engine_int.h"

#include <string.h>

#include "binshare.h"
#include "clock.h"
#include "mpc_err.h"

#define S_APART_SEQ   (1ull << 31)   /* seq = layer | S_APART_SEQ | message << 32 */
#define S_PART_MAX    ((uint64_t)1 << 24)

static uint64_t s_apart(const mpc_engine *e)
{
    return e->o.cmp_apart ? e->o.cmp_apart : MPC_ENGINE_CMP_APART;
}

int mpc_eng_cmp_is_apart(const mpc_engine *e, uint64_t n)
{
    return n > s_apart(e);
}

int mpc_eng_cmp_flight(const mpc_engine *e, const uint32_t *gates, uint32_t ng)
{
    uint64_t nl = 0, ne = 0;
    for (uint32_t i = 0; i < ng; i++) {
        const mpc_gate *g = &e->c->gates[gates[i]];
        if (g->kind == MPC_G_LTZ) nl += g->len;
        if (g->kind == MPC_G_EQZ) ne += g->len;
    }
    return (nl && !mpc_eng_cmp_is_apart(e, nl)) || (ne && !mpc_eng_cmp_is_apart(e, ne));
}

/* W words of mine summed (arith) or XOR-ed with every peer's, in messages of at most
 * e->slice words, up to MPC_ENGINE_SLICE_WINDOW of them sent ahead of the one received; *msg
 * numbers the layer's messages run apart.  rx: e->slice words. */
static int s_xchg(mpc_engine *e, uint32_t layer, uint64_t *msg, uint64_t *mine, uint64_t W, int arith,
                  uint64_t *rx, char *err, size_t errlen)
{
    uint64_t ns = W ? (W + e->slice - 1) / e->slice : 1, sent = 0, m0 = *msg;
    int r;
    *msg += ns;
    for (uint64_t s = 0; s < ns; s++) {
        for (; sent < ns && sent < s + MPC_ENGINE_SLICE_WINDOW; sent++) {
            uint64_t lo = sent * e->slice, cnt = W - lo < e->slice ? W - lo : e->slice;
            uint64_t seq = (uint64_t)layer | S_APART_SEQ | (m0 + sent) << 32;
            for (uint32_t j = 0; j < e->n; j++) {
                if (j == e->self) continue;
                if ((r = mpc_eng_peer_rc(e, j, mpc_send(e->t, j, MPC_MSG_OPEN, e->o.stream, seq, mine + lo, cnt))))
                    return mpc_errc(err, errlen, r, "round %u: comparisons: sending to party %u: %s",
                                    (unsigned)layer, (unsigned)j, mpc_strerror(r));
                e->st.open_bytes_sent += cnt * 8;
            }
        }
        uint64_t lo = s * e->slice, cnt = W - lo < e->slice ? W - lo : e->slice;
        uint64_t seq = (uint64_t)layer | S_APART_SEQ | (m0 + s) << 32;
        for (uint32_t j = 0; j < e->n; j++) {
            if (j == e->self) continue;
            if ((r = mpc_eng_take_keys(e, j, err, errlen))) return r;
            if ((r = mpc_eng_peer_rc(e, j, mpc_recv(e->t, j, MPC_MSG_OPEN, e->o.stream, seq, rx, cnt,
                                                    e->o.timeout_ms))))
                return mpc_errc(err, errlen, r, "round %u: comparisons: receiving from party %u: %s",
                                (unsigned)layer, (unsigned)j, mpc_strerror(r));
            e->st.open_bytes_recv += cnt * 8;
            if (arith)
                for (uint64_t k = 0; k < cnt; k++) mine[lo + k] += rx[k];
            else
                for (uint64_t k = 0; k < cnt; k++) mine[lo + k] ^= rx[k];
        }
    }
    return 0;
}

/* Elements [off, off + m) of the batch (its gates' elements one after another): from the
 * gates' operands into x, or, when res is given, from res into the gates' own wires. */
static void s_span(mpc_engine *e, const uint32_t *gates, uint32_t ng, uint8_t kind, uint64_t off, uint64_t m,
                   uint64_t *x, const uint64_t *res)
{
    uint64_t pos = 0, done = 0;
    for (uint32_t i = 0; i < ng && done < m; i++) {
        const mpc_gate *g = &e->c->gates[gates[i]];
        if (g->kind != kind) continue;
        uint64_t lo = pos, hi = pos + g->len;
        pos = hi;
        if (hi <= off + done) continue;
        uint64_t from = off + done - lo, cnt = hi - (off + done);
        if (cnt > m - done) cnt = m - done;
        if (res)
            memcpy(e->w[gates[i]] + from, res + done, (size_t)cnt * 8);
        else
            memcpy(x + done, e->w[g->in[0]] + from, (size_t)cnt * 8);
        done += cnt;
    }
}

/* One part of m elements: material, the 8 sub-rounds, the results into the wires. */
static int s_part_run(mpc_engine *e, uint32_t layer, uint64_t *msg, const uint32_t *gates, uint32_t ng,
                      mpc_cmp_kind ck, uint8_t kind, uint64_t off, uint64_t m, char *err, size_t errlen)
{
    uint64_t B = mpc_cmp_btriple_words(ck, m), DW = mpc_bin_words(m), matn = 3 * m + 3 * B + DW;
    uint64_t *mat = s_alloc(matn), *x = s_alloc(m), *rx = s_alloc(e->slice), *mine = NULL, held = 0;
    mpc_cmp *cmp = NULL;
    int r = 0;
    if (!mat || !x || !rx) {
        r = mpc_errc(err, errlen, MPC_ERR_NOMEM, "round %u: comparisons: out of memory", (unsigned)layer);
        goto out;
    }
    mpc_prep_req req = {.n_edabits = m, .n_btriples = B, .n_dabits = m};
    mpc_prep_out o = {.eda_r = mat, .eda_bits = mat + m, .ba = mat + 2 * m, .bb = mat + 2 * m + B,
                      .bc = mat + 2 * m + 2 * B, .da_r = mat + 2 * m + 3 * B, .da_bits = mat + 3 * m + 3 * B};
    uint64_t t0 = mpc_now_us();
    r = mpc_prep_fetch(e->prep, &req, &o);
    e->st.prep_us += mpc_now_us() - t0;
    if (r) {
        r = mpc_errc(err, errlen, r, "round %u: preprocessing: %s", (unsigned)layer, mpc_strerror(r));
        goto out;
    }
    s_mat_held(e, &held, (int64_t)matn);
    mpc_cmp_material cm = {.eda_r = o.eda_r, .eda_bits = o.eda_bits, .ba = o.ba, .bb = o.bb, .bc = o.bc,
                           .da_r = o.da_r, .da_bits = o.da_bits, .da_off = 0};
    cmp = mpc_cmp_new(ck, m, e->self, &cm);
    s_wipe_free(mat, matn);   /* the batch holds its own copy */
    mat = NULL;
    if (!cmp) {
        r = mpc_errc(err, errlen, MPC_ERR_NOMEM, "round %u: comparisons: out of memory", (unsigned)layer);
        goto out;
    }
    s_span(e, gates, ng, kind, off, m, x, NULL);
    while (mpc_cmp_step(cmp) < MPC_CMP_ROUNDS) {
        uint64_t W = mpc_cmp_open_words(cmp);
        int arith = mpc_cmp_open_is_arith(cmp);
        if (!(mine = s_alloc(W))) {
            r = mpc_errc(err, errlen, MPC_ERR_NOMEM, "round %u: comparisons: out of memory", (unsigned)layer);
            goto out;
        }
        mpc_cmp_open(cmp, x, mine);
        if ((r = s_xchg(e, layer, msg, mine, W, arith, rx, err, errlen))) goto out;
        if ((r = mpc_cmp_absorb(cmp, mine))) {
            r = mpc_errc(err, errlen, r, "round %u: comparisons: %s", (unsigned)layer, mpc_strerror(r));
            goto out;
        }
        s_wipe_free(mine, W);
        mine = NULL;
        e->st.apart_rounds++;
    }
    s_span(e, gates, ng, kind, off, m, NULL, mpc_cmp_result(cmp));
    e->st.apart_parts++;
    e->st.comparisons += m;
    e->st.edabits += m;
    e->st.dabits += m;
    e->st.btriples += B;
out:
    if (mine) s_wipe_free(mine, mpc_cmp_open_words(cmp));
    mpc_cmp_destroy(&cmp);
    s_wipe_free(mat, matn);
    s_wipe_free(x, m);
    s_wipe_free(rx, e->slice);
    return r;
}

int mpc_eng_cmp_apart_run(mpc_engine *e, uint32_t layer, const uint32_t *gates, uint32_t ng, char *err,
                          size_t errlen)
{
    static const uint8_t kinds[2] = {MPC_G_LTZ, MPC_G_EQZ};
    uint64_t msg = 0, part = s_apart(e) < S_PART_MAX ? s_apart(e) : S_PART_MAX;
    for (int t = 0; t < 2; t++) {
        uint64_t n = 0;
        for (uint32_t i = 0; i < ng; i++)
            if (e->c->gates[gates[i]].kind == kinds[t]) n += e->c->gates[gates[i]].len;
        if (!n || !mpc_eng_cmp_is_apart(e, n)) continue;
        if (layer >= S_APART_SEQ)
            return mpc_errc(err, errlen, MPC_ERR_CIRCUIT, "round %u: too many rounds", (unsigned)layer);
        for (uint32_t i = 0; i < ng; i++) {   /* the results' wires, wiped on any failure */
            const mpc_gate *g = &e->c->gates[gates[i]];
            if (g->kind != kinds[t]) continue;
            if (!(e->w[gates[i]] = s_alloc(g->len)))
                return mpc_errc(err, errlen, MPC_ERR_NOMEM, "round %u: comparisons: out of memory", (unsigned)layer);
            e->owned[gates[i]] = 1;
        }
        mpc_cmp_kind ck = t == 0 ? MPC_CMP_LTZ : MPC_CMP_EQZ;
        for (uint64_t off = 0; off < n; off += part) {
            if (e->o.cancel && atomic_load(e->o.cancel))
                return mpc_errc(err, errlen, MPC_ERR_CANCELLED, "round %u: the job was cancelled", (unsigned)layer);
            if (e->o.deadline_ms && mpc_now_ms() > e->o.deadline_ms)
                return mpc_errc(err, errlen, MPC_ERR_TIMEOUT, "round %u: the job ran past its time limit",
                                (unsigned)layer);
            uint64_t m = n - off < part ? n - off : part;
            int r = s_part_run(e, layer, &msg, gates, ng, ck, kinds[t], off, m, err, errlen);
            if (r) return r;
        }
    }
    return 0;
}
