/* collect.c — one daemon's state of one collection (collect.h, docs/contributions.md). */
#include "collect.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "field61.h"
#include "mpc_err.h"

void mpcd_token_make(const uint8_t key[MPCD_TOKEN_KEY_BYTES], const uint8_t id[MPCD_TOKEN_ID_BYTES],
                     uint8_t token[MPCD_TOKEN_BYTES])
{
    crypto_generichash_state st;
    crypto_generichash_init(&st, key, MPCD_TOKEN_KEY_BYTES, MPCD_TOKEN_TAG_BYTES);
    crypto_generichash_update(&st, (const uint8_t *)MPCD_TOKEN_CONTEXT, sizeof MPCD_TOKEN_CONTEXT - 1);
    crypto_generichash_update(&st, id, MPCD_TOKEN_ID_BYTES);
    memmove(token, id, MPCD_TOKEN_ID_BYTES);
    crypto_generichash_final(&st, token + MPCD_TOKEN_ID_BYTES, MPCD_TOKEN_TAG_BYTES);
    sodium_memzero(&st, sizeof st);
}

int mpcd_token_ok(const uint8_t key[MPCD_TOKEN_KEY_BYTES], const uint8_t token[MPCD_TOKEN_BYTES])
{
    uint8_t want[MPCD_TOKEN_BYTES];
    mpcd_token_make(key, token, want);
    int ok = sodium_memcmp(want + MPCD_TOKEN_ID_BYTES, token + MPCD_TOKEN_ID_BYTES, MPCD_TOKEN_TAG_BYTES) == 0;
    sodium_memzero(want, sizeof want);
    return ok;
}

/* The dedup set: open addressing on SipHash of the id under a per-collection random key
 * (ids are chosen at enrolment; the key keeps anyone from aiming at one chain). */
enum { S_EMPTY = 0, S_INCLUDED = 1, S_DROPPED = 2, S_INVALID = 3, S_NONCE = 4, S_PENDING = 8 };
#define S_MARK 0x80000000u

typedef struct {
    uint8_t  id[MPCD_TOKEN_ID_BYTES];
    uint32_t state;   /* S_*, or S_PENDING + slot; S_MARK while a COMMIT is checked */
} s_entry;

typedef struct {
    uint32_t entry;   /* index into the set, UINT32_MAX: free slot */
    uint64_t since;   /* arrival, ms */
    uint8_t  nonce[MPCD_CONTRIB_REF_BYTES - MPCD_TOKEN_ID_BYTES];
} s_slot;

struct mpcd_collect {
    uint64_t            len;
    mpcd_collect_limits lim;
    uint64_t           *sums;      /* len elements mod p */
    uint64_t           *shares;    /* max_pending × len */
    uint8_t            *msgs;      /* max_pending × msg_bytes */
    s_slot             *slots;
    uint32_t            n_pending;
    s_entry            *set;
    uint64_t            set_cap, set_n;   /* cap: a power of two */
    uint8_t             hkey[crypto_shorthash_KEYBYTES];
    uint64_t            batches, count, invalid;
    uint64_t            digest[4];
    int                 closed;
};

static uint64_t s_hash(const mpcd_collect *c, const uint8_t *id)
{
    uint8_t h[crypto_shorthash_BYTES];
    crypto_shorthash(h, id, MPCD_TOKEN_ID_BYTES, c->hkey);
    uint64_t v;
    memcpy(&v, h, sizeof v);
    return v;
}

static s_entry *s_find(const mpcd_collect *c, const uint8_t *id)
{
    for (uint64_t i = s_hash(c, id) & (c->set_cap - 1);; i = (i + 1) & (c->set_cap - 1)) {
        s_entry *e = &c->set[i];
        if (e->state == S_EMPTY) return NULL;
        if (memcmp(e->id, id, MPCD_TOKEN_ID_BYTES) == 0) return e;
    }
}

static s_entry *s_insert_at(s_entry *set, uint64_t cap, uint64_t h, const uint8_t *id, uint32_t state)
{
    uint64_t i = h & (cap - 1);
    while (set[i].state != S_EMPTY) i = (i + 1) & (cap - 1);
    memcpy(set[i].id, id, MPCD_TOKEN_ID_BYTES);
    set[i].state = state;
    return &set[i];
}

/* Keeps the load at most 1/2; 0 or MPC_ERR_NOMEM.  Pending slots name their entry, so they
 * are renumbered. */
static int s_grow(mpcd_collect *c)
{
    if ((c->set_n + 1) * 2 <= c->set_cap) return 0;
    uint64_t cap = c->set_cap * 2;
    s_entry *ns = calloc(cap, sizeof *ns);
    if (!ns) return MPC_ERR_NOMEM;
    for (uint64_t i = 0; i < c->set_cap; i++) {
        const s_entry *e = &c->set[i];
        if (e->state == S_EMPTY) continue;
        s_entry *ne = s_insert_at(ns, cap, s_hash(c, e->id), e->id, e->state);
        if (e->state >= S_PENDING) c->slots[e->state - S_PENDING].entry = (uint32_t)(ne - ns);
    }
    free(c->set);
    c->set = ns;
    c->set_cap = cap;
    return 0;
}

mpcd_collect *mpcd_collect_new(uint64_t len, const mpcd_collect_limits *lim)
{
    if (len == 0 || lim->max_pending == 0 || len > (UINT64_C(1) << 32)) return NULL;
    mpcd_collect *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->len = len;
    c->lim = *lim;
    c->set_cap = 1024;
    c->sums = calloc(len, sizeof *c->sums);
    c->shares = calloc((size_t)lim->max_pending * len, sizeof *c->shares);
    c->slots = calloc(lim->max_pending, sizeof *c->slots);
    c->msgs = calloc((size_t)lim->max_pending * (lim->msg_bytes ? lim->msg_bytes : 1), 1);
    c->set = calloc(c->set_cap, sizeof *c->set);
    if (!c->sums || !c->shares || !c->slots || !c->set || !c->msgs) {
        mpcd_collect_free(&c);
        return NULL;
    }
    for (uint32_t i = 0; i < lim->max_pending; i++) c->slots[i].entry = UINT32_MAX;
    randombytes_buf(c->hkey, sizeof c->hkey);
    return c;
}

void mpcd_collect_free(mpcd_collect **cp)
{
    if (!cp || !*cp) return;
    mpcd_collect *c = *cp;
    if (c->sums) sodium_memzero(c->sums, c->len * sizeof *c->sums);
    if (c->shares) sodium_memzero(c->shares, (size_t)c->lim.max_pending * c->len * sizeof *c->shares);
    if (c->msgs) sodium_memzero(c->msgs, (size_t)c->lim.max_pending * (c->lim.msg_bytes ? c->lim.msg_bytes : 1));
    free(c->sums);
    free(c->shares);
    free(c->msgs);
    free(c->slots);
    free(c->set);
    sodium_memzero(c, sizeof *c);
    free(c);
    *cp = NULL;
}

/* The dedup key of a nonce: BLAKE2b-128 of it under a label, so that a chosen nonce cannot
 * stand for a contributor id. */
static void s_nonce_key(const uint8_t *nonce, uint8_t key[MPCD_TOKEN_ID_BYTES])
{
    static const uint8_t label[] = "mpcd contribution nonce 1";
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, MPCD_TOKEN_ID_BYTES);
    crypto_generichash_update(&st, label, sizeof label - 1);
    crypto_generichash_update(&st, nonce, MPCD_CONTRIB_REF_BYTES - MPCD_TOKEN_ID_BYTES);
    crypto_generichash_final(&st, key, MPCD_TOKEN_ID_BYTES);
}

int mpcd_collect_offer(mpcd_collect *c, const uint8_t ref[MPCD_CONTRIB_REF_BYTES], const uint64_t *share,
                       uint64_t len, uint64_t now_ms)
{
    return mpcd_collect_offer_msg(c, ref, share, len, NULL, now_ms);
}

int mpcd_collect_offer_msg(mpcd_collect *c, const uint8_t ref[MPCD_CONTRIB_REF_BYTES], const uint64_t *share,
                           uint64_t len, const uint8_t *msg, uint64_t now_ms)
{
    const uint8_t *id = ref;
    uint8_t nk[MPCD_TOKEN_ID_BYTES];
    s_nonce_key(ref + MPCD_TOKEN_ID_BYTES, nk);
    if (len != c->len || (c->lim.msg_bytes && !msg)) return MPC_ERR_INPUT;
    if (c->closed || c->count + c->n_pending >= c->lim.max_count) return MPC_ERR_STATE;
    if (s_find(c, id)) return MPC_ERR_STATE;   /* a duplicate: pending, included or dropped */
    if (c->lim.msg_bytes && s_find(c, nk)) return MPC_ERR_STATE;   /* a nonce seen before */
    uint64_t bad = 0;
    for (uint64_t i = 0; i < len; i++) bad |= share[i] >= MPC_F61_P;
    if (bad) return MPC_ERR_INPUT;
    if (c->n_pending == c->lim.max_pending) return MPC_ERR_LIMIT;
    if (s_grow(c) != 0) return MPC_ERR_NOMEM;
    if (c->lim.msg_bytes) {
        c->set_n++;
        if (s_grow(c) != 0) {
            c->set_n--;
            return MPC_ERR_NOMEM;
        }
        s_insert_at(c->set, c->set_cap, s_hash(c, nk), nk, S_NONCE);
    }
    uint32_t slot = 0;
    while (c->slots[slot].entry != UINT32_MAX) slot++;
    s_entry *e = s_insert_at(c->set, c->set_cap, s_hash(c, id), id, S_PENDING + slot);
    c->set_n++;
    c->slots[slot].entry = (uint32_t)(e - c->set);
    c->slots[slot].since = now_ms;
    memcpy(c->slots[slot].nonce, ref + MPCD_TOKEN_ID_BYTES, sizeof c->slots[slot].nonce);
    memcpy(c->shares + (size_t)slot * c->len, share, len * sizeof *share);
    if (c->lim.msg_bytes) memcpy(c->msgs + (size_t)slot * c->lim.msg_bytes, msg, c->lim.msg_bytes);
    c->n_pending++;
    return 0;
}

static int s_by_age(const void *a, const void *b, const s_slot *slots)
{
    uint64_t x = slots[*(const uint32_t *)a].since, y = slots[*(const uint32_t *)b].since;
    return x < y ? -1 : x > y;
}

uint32_t mpcd_collect_propose(const mpcd_collect *c, uint8_t (*refs)[MPCD_CONTRIB_REF_BYTES], uint32_t max,
                              uint64_t *batch)
{
    *batch = c->batches;
    if (c->closed || max == 0) return 0;
    /* the oldest first: a selection over the pending slots (max_pending is small) */
    uint32_t n = 0;
    uint32_t *order = malloc((size_t)c->n_pending * sizeof *order + 1);
    if (!order) return 0;
    for (uint32_t s = 0; s < c->lim.max_pending; s++)
        if (c->slots[s].entry != UINT32_MAX) order[n++] = s;
    for (uint32_t i = 1; i < n; i++)   /* insertion sort: stable, n ≤ max_pending */
        for (uint32_t j = i; j > 0 && s_by_age(&order[j], &order[j - 1], c->slots) < 0; j--) {
            uint32_t t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
    if (n > max) n = max;
    for (uint32_t i = 0; i < n; i++) {
        const s_slot *sl = &c->slots[order[i]];
        memcpy(refs[i], c->set[sl->entry].id, MPCD_TOKEN_ID_BYTES);
        memcpy(refs[i] + MPCD_TOKEN_ID_BYTES, sl->nonce, sizeof sl->nonce);
    }
    free(order);
    return n;
}

/* The pending entry of ref (that contributor with that nonce, not marked), or NULL. */
static s_entry *s_pending(const mpcd_collect *c, const uint8_t *ref)
{
    s_entry *e = s_find(c, ref);
    if (!e || e->state < S_PENDING || (e->state & S_MARK)) return NULL;
    const s_slot *sl = &c->slots[e->state - S_PENDING];
    return sodium_memcmp(sl->nonce, ref + MPCD_TOKEN_ID_BYTES, sizeof sl->nonce) == 0 ? e : NULL;
}

int mpcd_collect_have(const mpcd_collect *c, uint64_t batch, const uint8_t (*refs)[MPCD_CONTRIB_REF_BYTES], uint32_t n,
                      uint8_t *bitmap)
{
    if (batch != c->batches || c->closed) return MPC_ERR_PROTOCOL;
    memset(bitmap, 0, (n + 7) / 8);
    for (uint32_t i = 0; i < n; i++) {
        if (s_pending(c, refs[i])) bitmap[i / 8] |= (uint8_t)(1u << (i % 8));
    }
    return 0;
}

const uint8_t *mpcd_collect_msg(const mpcd_collect *c, const uint8_t ref[MPCD_CONTRIB_REF_BYTES])
{
    const s_entry *e = s_pending(c, ref);
    if (!e || !c->lim.msg_bytes) return NULL;
    return c->msgs + (size_t)(e->state - S_PENDING) * c->lim.msg_bytes;
}

/* Frees pending slot s: its share and message wiped, its entry set to state. */
static void s_free_slot(mpcd_collect *c, uint32_t s, uint32_t state)
{
    s_slot *sl = &c->slots[s];
    sodium_memzero(c->shares + (size_t)s * c->len, c->len * sizeof *c->shares);
    if (c->lim.msg_bytes) sodium_memzero(c->msgs + (size_t)s * c->lim.msg_bytes, c->lim.msg_bytes);
    c->set[sl->entry].state = state;
    sl->entry = UINT32_MAX;
    c->n_pending--;
}

int mpcd_collect_reject(mpcd_collect *c, uint64_t batch, const uint8_t (*refs)[MPCD_CONTRIB_REF_BYTES], uint32_t n,
                        const uint8_t *bitmap)
{
    if (batch != c->batches || c->closed) return MPC_ERR_PROTOCOL;
    for (uint32_t i = 0; i < n; i++)
        if ((bitmap[i / 8] >> (i % 8) & 1) && !s_pending(c, refs[i])) return MPC_ERR_PROTOCOL;
    for (uint32_t i = 0; i < n; i++) {
        if (!(bitmap[i / 8] >> (i % 8) & 1)) continue;
        s_entry *e = s_pending(c, refs[i]);
        if (!e) continue;   /* listed twice: dropped already */
        s_free_slot(c, e->state - S_PENDING, S_INVALID);
        c->invalid++;
    }
    return 0;
}

uint64_t mpcd_collect_invalid(const mpcd_collect *c) { return c->invalid; }

static void s_digest_add(mpcd_collect *c, const uint8_t *id)
{
    uint8_t h[32];
    crypto_generichash(h, sizeof h, id, MPCD_TOKEN_ID_BYTES, NULL, 0);
    unsigned __int128 carry = 0;
    for (int w = 0; w < 4; w++) {
        uint64_t x;
        memcpy(&x, h + 8 * w, 8);
        carry += (unsigned __int128)c->digest[w] + x;
        c->digest[w] = (uint64_t)carry;
        carry >>= 64;
    }
}

int mpcd_collect_commit(mpcd_collect *c, uint64_t batch, const uint8_t (*refs)[MPCD_CONTRIB_REF_BYTES], uint32_t n,
                        const uint8_t *bitmap)
{
    if (batch != c->batches || c->closed) return MPC_ERR_PROTOCOL;
    uint32_t k = 0, marked = 0;
    int bad = 0;
    for (uint32_t i = 0; i < n && !bad; i++) {   /* check, marking what is committed */
        if (!(bitmap[i / 8] >> (i % 8) & 1)) continue;
        s_entry *e = s_pending(c, refs[i]);
        if (!e) bad = 1;
        else e->state |= S_MARK, marked++;
        k++;
    }
    if (!bad && c->count + k > c->lim.max_count) bad = 1;
    for (uint32_t i = 0; i < n && marked; i++) {   /* apply (or unmark) */
        if (!(bitmap[i / 8] >> (i % 8) & 1)) continue;
        s_entry *e = s_find(c, refs[i]);
        if (!e || !(e->state & S_MARK)) continue;
        e->state &= ~S_MARK;
        marked--;
        if (bad) continue;
        uint32_t slot = e->state - S_PENDING;
        uint64_t *sh = c->shares + (size_t)slot * c->len;
        for (uint64_t j = 0; j < c->len; j++) c->sums[j] = mpc_f61_add(c->sums[j], sh[j]);
        s_free_slot(c, slot, S_INCLUDED);
        c->count++;
        s_digest_add(c, e->id);
    }
    if (bad) return MPC_ERR_PROTOCOL;
    c->batches++;
    return 0;
}

uint32_t mpcd_collect_expire(mpcd_collect *c, uint64_t now_ms)
{
    uint32_t n = 0;
    for (uint32_t s = 0; s < c->lim.max_pending; s++) {
        s_slot *sl = &c->slots[s];
        if (sl->entry == UINT32_MAX || now_ms - sl->since <= c->lim.pending_ms || now_ms < sl->since) continue;
        s_free_slot(c, s, S_DROPPED);
        n++;
    }
    return n;
}

void mpcd_collect_summary(const mpcd_collect *c, uint64_t *batches, uint64_t *count, uint8_t digest[32])
{
    *batches = c->batches;
    *count = c->count;
    for (int w = 0; w < 4; w++) memcpy(digest + 8 * w, &c->digest[w], 8);
}

uint32_t mpcd_collect_pending(const mpcd_collect *c) { return c->n_pending; }

void mpcd_collect_close(mpcd_collect *c, int first_party, uint64_t *share)
{
    mpcd_collect_expire(c, UINT64_MAX);   /* every pending one is dropped */
    for (uint32_t s = 0; s < c->lim.max_pending; s++) {
        s_slot *sl = &c->slots[s];
        if (sl->entry == UINT32_MAX) continue;
        s_free_slot(c, s, S_DROPPED);
    }
    c->closed = 1;
    memcpy(share, c->sums, c->len * sizeof *share);
    share[c->len] = first_party ? c->count : 0;
}
