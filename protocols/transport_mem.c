/* transport_mem.c — in-memory transport (transport_mem.h).  One mutex guards the hub; each
 * node waits on its own condition variable (monotonic clock) for messages addressed to it. */
#include "transport_mem.h"

#include <errno.h>
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "mpc_err.h"

typedef struct s_msg {
    struct s_msg *next;
    mpc_msg_hdr   hdr;
    uint64_t      n;        /* payload elements actually present */
    uint64_t      data[];
} s_msg;

typedef struct {
    s_msg   *head, *tail;
    uint64_t bytes;
} s_queue;

struct mpc_mem_hub {
    pthread_mutex_t mu;
    pthread_cond_t *cv;      /* one per receiving node */
    s_queue        *q;       /* q[from * n + to] */
    uint8_t        *taken;
    uint32_t        n;
    int             timeout_ms;
    uint64_t        limit;
};

typedef struct {
    mpc_mem_hub *hub;
} s_ep;

static void s_free_msg(s_msg *m)
{
    sodium_memzero(m->data, (size_t)m->n * sizeof(uint64_t));
    free(m);
}

mpc_mem_hub *mpc_mem_hub_new(uint32_t n, int default_timeout_ms)
{
    if (n < 2 || n > 64) return NULL;
    mpc_mem_hub *h = calloc(1, sizeof *h);
    if (!h) return NULL;
    h->n = n;
    h->timeout_ms = default_timeout_ms < 0 ? 10000 : default_timeout_ms;
    h->cv = calloc(n, sizeof *h->cv);
    h->q = calloc((size_t)n * n, sizeof *h->q);
    h->taken = calloc(n, 1);
    if (!h->cv || !h->q || !h->taken) goto fail;
    pthread_mutex_init(&h->mu, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    for (uint32_t i = 0; i < n; i++) pthread_cond_init(&h->cv[i], &attr);
    pthread_condattr_destroy(&attr);
    return h;
fail:
    free(h->cv);
    free(h->q);
    free(h->taken);
    free(h);
    return NULL;
}

void mpc_mem_hub_destroy(mpc_mem_hub **hp)
{
    if (!hp || !*hp) return;
    mpc_mem_hub *h = *hp;
    for (uint64_t i = 0; i < (uint64_t)h->n * h->n; i++) {
        s_msg *m = h->q[i].head;
        while (m) {
            s_msg *nx = m->next;
            s_free_msg(m);
            m = nx;
        }
    }
    for (uint32_t i = 0; i < h->n; i++) pthread_cond_destroy(&h->cv[i]);
    pthread_mutex_destroy(&h->mu);
    free(h->cv);
    free(h->q);
    free(h->taken);
    free(h);
    *hp = NULL;
}

void mpc_mem_hub_set_limit(mpc_mem_hub *h, uint64_t max_held_bytes)
{
    pthread_mutex_lock(&h->mu);
    h->limit = max_held_bytes;
    pthread_mutex_unlock(&h->mu);
}

/* Appends m to the (from, to) queue; takes ownership of m in every case. */
static int s_enqueue(mpc_mem_hub *h, uint32_t from, uint32_t to, s_msg *m)
{
    int r = 0;
    pthread_mutex_lock(&h->mu);
    s_queue *q = &h->q[(size_t)from * h->n + to];
    uint64_t sz = m->n * sizeof(uint64_t);
    if (h->limit && q->bytes + sz > h->limit) {
        r = MPC_ERR_LIMIT;
    } else {
        m->next = NULL;
        if (q->tail) q->tail->next = m;
        else q->head = m;
        q->tail = m;
        q->bytes += sz;
        m = NULL;
        pthread_cond_broadcast(&h->cv[to]);
    }
    pthread_mutex_unlock(&h->mu);
    if (m) s_free_msg(m);
    return r;
}

static s_msg *s_msg_new(const mpc_msg_hdr *hdr, const uint64_t *data, uint64_t count)
{
    if (count > (SIZE_MAX - sizeof(s_msg)) / sizeof(uint64_t)) return NULL;
    s_msg *m = malloc(sizeof *m + (size_t)count * sizeof(uint64_t));
    if (!m) return NULL;
    m->next = NULL;
    m->hdr = *hdr;
    m->n = count;
    if (count) memcpy(m->data, data, (size_t)count * sizeof(uint64_t));
    return m;
}

static int s_send(mpc_transport *t, uint32_t to, uint8_t type, uint64_t stream, uint64_t seq,
                  const uint64_t *data, uint64_t count)
{
    s_ep *ep = t->impl;
    if (to >= t->n || to == t->self || (count && !data)) return MPC_ERR_INVALID;
    mpc_msg_hdr hdr = {.version = MPC_WIRE_VERSION, .type = type, .sender = (uint16_t)t->self,
                       .stream = stream, .seq = seq, .count = count};
    s_msg *m = s_msg_new(&hdr, data, count);
    if (!m) return MPC_ERR_NOMEM;
    int r = s_enqueue(ep->hub, t->self, to, m);
    if (r == 0) {   /* under the hub's lock: several threads may use one endpoint */
        pthread_mutex_lock(&ep->hub->mu);
        t->msgs_sent++;
        t->bytes_sent += MPC_MEM_HDR_BYTES + count * sizeof(uint64_t);
        pthread_mutex_unlock(&ep->hub->mu);
    }
    return r;
}

int mpc_mem_inject(mpc_mem_hub *h, uint32_t to, const mpc_msg_hdr *hdr,
                   const uint64_t *payload, uint64_t payload_count)
{
    if (to >= h->n || hdr->sender >= h->n || (payload_count && !payload)) return MPC_ERR_INVALID;
    s_msg *m = s_msg_new(hdr, payload, payload_count);
    if (!m) return MPC_ERR_NOMEM;
    return s_enqueue(h, hdr->sender, to, m);
}

uint64_t mpc_mem_pending(mpc_mem_hub *h, uint32_t from, uint32_t to)
{
    uint64_t k = 0;
    pthread_mutex_lock(&h->mu);
    for (s_msg *m = h->q[(size_t)from * h->n + to].head; m; m = m->next) k++;
    pthread_mutex_unlock(&h->mu);
    return k;
}

/* Unlinks and returns the first message of `stream` in q, or NULL.  Lock held. */
static s_msg *s_take(s_queue *q, uint64_t stream)
{
    s_msg *prev = NULL;
    for (s_msg *m = q->head; m; prev = m, m = m->next) {
        if (m->hdr.stream != stream) continue;
        if (prev) prev->next = m->next;
        else q->head = m->next;
        if (q->tail == m) q->tail = prev;
        q->bytes -= m->n * sizeof(uint64_t);
        return m;
    }
    return NULL;
}

/* 1 if any peer has sent ABORT on `stream` to `self` (left in place: the stream stays
 * failed until forget(), as on the ZeroMQ backend).  Lock held. */
static int s_aborted(mpc_mem_hub *h, uint32_t self, uint64_t stream)
{
    for (uint32_t from = 0; from < h->n; from++) {
        if (from == self) continue;
        for (s_msg *m = h->q[(size_t)from * h->n + self].head; m; m = m->next)
            if (m->hdr.stream == stream && m->hdr.type == MPC_MSG_ABORT) return 1;
    }
    return 0;
}

static int s_abort_info(mpc_transport *t, uint64_t stream, uint32_t *from, uint32_t *lost)
{
    s_ep *ep = t->impl;
    mpc_mem_hub *h = ep->hub;
    int found = 0;
    pthread_mutex_lock(&h->mu);
    for (uint32_t j = 0; j < h->n && !found; j++) {
        if (j == t->self) continue;
        for (s_msg *m = h->q[(size_t)j * h->n + t->self].head; m && !found; m = m->next)
            if (m->hdr.stream == stream && m->hdr.type == MPC_MSG_ABORT) {
                found = 1;
                *from = j;
                *lost = m->n >= 2 && m->data[1] < h->n ? (uint32_t)m->data[1] : MPC_ABORT_NO_PARTY;
            }
    }
    pthread_mutex_unlock(&h->mu);
    return found;
}

static int s_recv(mpc_transport *t, uint32_t from, uint8_t type, uint64_t stream, uint64_t seq,
                  uint64_t *out, uint64_t count, int timeout_ms)
{
    s_ep *ep = t->impl;
    mpc_mem_hub *h = ep->hub;
    if (from >= t->n || from == t->self || (count && !out)) return MPC_ERR_INVALID;
    if (timeout_ms < 0) timeout_ms = h->timeout_ms;
    struct timespec dl = mpc_clock_deadline(timeout_ms);
    s_msg *m = NULL;
    pthread_mutex_lock(&h->mu);
    s_queue *q = &h->q[(size_t)from * h->n + t->self];
    int aborted = 0;
    for (;;) {
        if ((aborted = s_aborted(h, t->self, stream))) break;
        m = s_take(q, stream);
        if (m) break;
        int w = pthread_cond_timedwait(&h->cv[t->self], &h->mu, &dl);
        if (w == ETIMEDOUT) {
            if ((aborted = s_aborted(h, t->self, stream))) break;
            m = s_take(q, stream);
            break;
        }
    }
    if (m) {
        t->msgs_recv++;
        t->bytes_recv += MPC_MEM_HDR_BYTES + m->n * sizeof(uint64_t);
    }
    pthread_mutex_unlock(&h->mu);
    if (aborted) return MPC_ERR_PEER_ABORT;
    if (!m) return MPC_ERR_TIMEOUT;

    int r = 0;
    if (m->hdr.version != MPC_WIRE_VERSION || m->hdr.sender != from || m->hdr.count != m->n)
        r = MPC_ERR_PROTOCOL;
    else if (m->hdr.type == MPC_MSG_ABORT)
        r = MPC_ERR_PEER_ABORT;
    else if (m->hdr.type != type || m->hdr.seq != seq || m->hdr.count != count)
        r = MPC_ERR_PROTOCOL;
    else if (count)
        memcpy(out, m->data, (size_t)count * sizeof(uint64_t));
    s_free_msg(m);
    return r;
}

static void s_forget(mpc_transport *t, uint64_t stream)
{
    s_ep *ep = t->impl;
    mpc_mem_hub *h = ep->hub;
    pthread_mutex_lock(&h->mu);
    for (uint32_t from = 0; from < h->n; from++) {
        s_queue *q = &h->q[(size_t)from * h->n + t->self];
        s_msg *m;
        while ((m = s_take(q, stream)) != NULL) s_free_msg(m);
    }
    pthread_mutex_unlock(&h->mu);
}

static void s_destroy(mpc_transport **tp)
{
    mpc_transport *t = *tp;
    s_ep *ep = t->impl;
    mpc_mem_hub *h = ep->hub;
    pthread_mutex_lock(&h->mu);
    h->taken[t->self] = 0;
    pthread_mutex_unlock(&h->mu);
    free(ep);
    free(t);
    *tp = NULL;
}

static uint64_t s_wire_bytes(const mpc_transport *t, uint8_t type, uint64_t stream, uint64_t seq, uint64_t count)
{
    (void)t, (void)type, (void)stream, (void)seq;
    return MPC_MEM_HDR_BYTES + count * sizeof(uint64_t);
}

static const struct mpc_transport_ops s_ops = {
    .send = s_send, .recv = s_recv, .forget = s_forget, .destroy = s_destroy, .abort_info = s_abort_info,
    .wire_bytes = s_wire_bytes,
};

mpc_transport *mpc_mem_transport_new(mpc_mem_hub *h, uint32_t self)
{
    if (!h || self >= h->n) return NULL;
    mpc_transport *t = calloc(1, sizeof *t);
    s_ep *ep = calloc(1, sizeof *ep);
    if (!t || !ep) goto fail;
    pthread_mutex_lock(&h->mu);
    int busy = h->taken[self];
    h->taken[self] = 1;
    pthread_mutex_unlock(&h->mu);
    if (busy) goto fail;
    ep->hub = h;
    t->ops = &s_ops;
    t->impl = ep;
    t->self = self;
    t->n = h->n;
    return t;
fail:
    free(t);
    free(ep);
    return NULL;
}
