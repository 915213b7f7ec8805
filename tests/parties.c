/* parties.c — protocol nodes as threads over the in-memory transport (parties.h). */
#include "parties.h"

#include <check.h>
#include <pthread.h>

#include "transport_mem.h"

#define TH_MAX 17

mpc_mem_hub *th_run_mem_keep(uint32_t n, int timeout_ms, const th_node *nodes)
{
    ck_assert_uint_ge(n, 1);
    ck_assert_uint_le(n, TH_MAX);
    mpc_mem_hub *hub = mpc_mem_hub_new(n, timeout_ms);
    ck_assert_ptr_nonnull(hub);
    for (uint32_t i = 0; i < n; i++) {
        mpc_transport *t = mpc_mem_transport_new(hub, i);
        ck_assert_ptr_nonnull(t);
        if (nodes[i].wrap) t = nodes[i].wrap(t, nodes[i].arg);
        ck_assert_ptr_nonnull(t);
        *nodes[i].t = t;
    }
    pthread_t th[TH_MAX];
    for (uint32_t i = 0; i < n; i++) ck_assert_int_eq(pthread_create(&th[i], NULL, nodes[i].fn, nodes[i].arg), 0);
    for (uint32_t i = 0; i < n; i++) pthread_join(th[i], NULL);
    return hub;
}

void th_free(uint32_t n, const th_node *nodes, mpc_mem_hub **hub)
{
    for (uint32_t i = 0; i < n; i++) mpc_transport_destroy(nodes[i].t);
    mpc_mem_hub_destroy(hub);
}

void th_run_mem(uint32_t n, int timeout_ms, const th_node *nodes)
{
    mpc_mem_hub *hub = th_run_mem_keep(n, timeout_ms, nodes);
    th_free(n, nodes, &hub);
}
