/* transport_view.c — index translation over a borrowed transport (transport_view.h). */
#include "transport_view.h"

#include <stdlib.h>

#include "mpc_err.h"

typedef struct {
    mpc_transport  pub;
    mpc_transport *mesh;
    uint32_t       map[MPC_VIEW_MAX_NODES];
} view;

static int s_send(mpc_transport *t, uint32_t to, uint8_t type, uint64_t stream, uint64_t seq,
                  const uint64_t *data, uint64_t count)
{
    view *v = t->impl;
    if (to >= t->n) return MPC_ERR_INVALID;
    int rc = mpc_send(v->mesh, v->map[to], type, stream, seq, data, count);
    if (rc == 0) {   /* not the mesh's counters: other threads use the mesh at the same time */
        t->bytes_sent += mpc_transport_wire_bytes(v->mesh, type, stream, seq, count);
        t->msgs_sent++;
    }
    return rc;
}

static int s_recv(mpc_transport *t, uint32_t from, uint8_t type, uint64_t stream, uint64_t seq,
                  uint64_t *out, uint64_t count, int timeout_ms)
{
    view *v = t->impl;
    if (from >= t->n) return MPC_ERR_INVALID;
    int rc = mpc_recv(v->mesh, v->map[from], type, stream, seq, out, count, timeout_ms);
    if (rc == 0) {
        t->bytes_recv += mpc_transport_wire_bytes(v->mesh, type, stream, seq, count);
        t->msgs_recv++;
    }
    return rc;
}

static void s_forget(mpc_transport *t, uint64_t stream)
{
    view *v = t->impl;
    mpc_transport_forget(v->mesh, stream);
}

/* The sender is translated back to its index in the view; the lost party's index is the
 * sender's index on the stream, i.e. already in the view's numbering. */
static int s_abort_info(mpc_transport *t, uint64_t stream, uint32_t *from, uint32_t *lost)
{
    view *v = t->impl;
    uint32_t node;
    if (!mpc_transport_abort_info(v->mesh, stream, &node, lost)) return 0;
    *from = MPC_ABORT_NO_PARTY;
    for (uint32_t i = 0; i < t->n; i++)
        if (v->map[i] == node) *from = i;
    if (*lost >= t->n) *lost = MPC_ABORT_NO_PARTY;
    return 1;
}

static void s_destroy(mpc_transport **tp)
{
    free((*tp)->impl);
    *tp = NULL;
}

static uint64_t s_wire_bytes(const mpc_transport *t, uint8_t type, uint64_t stream, uint64_t seq, uint64_t count)
{
    const view *v = t->impl;
    return mpc_transport_wire_bytes(v->mesh, type, stream, seq, count);
}

static const struct mpc_transport_ops s_ops = {s_send, s_recv, s_forget, s_destroy, s_abort_info, s_wire_bytes};

mpc_transport *mpc_transport_view_new(mpc_transport *mesh, const uint32_t *map, uint32_t k)
{
    if (!mesh || !map || k < 2 || k > MPC_VIEW_MAX_NODES) return NULL;
    int self = -1;
    for (uint32_t i = 0; i < k; i++) {
        if (map[i] >= mesh->n) return NULL;
        for (uint32_t j = 0; j < i; j++)
            if (map[j] == map[i]) return NULL;
        if (map[i] == mesh->self) self = (int)i;
    }
    if (self < 0) return NULL;
    view *v = calloc(1, sizeof *v);
    if (!v) return NULL;
    v->mesh = mesh;
    for (uint32_t i = 0; i < k; i++) v->map[i] = map[i];
    v->pub.ops = &s_ops;
    v->pub.impl = v;
    v->pub.self = (uint32_t)self;
    v->pub.n = k;
    return &v->pub;
}

mpc_transport *mpc_transport_view_clone(const mpc_transport *t)
{
    if (!t || t->ops != &s_ops) return NULL;
    const view *v = t->impl;
    return mpc_transport_view_new(v->mesh, v->map, t->n);
}
