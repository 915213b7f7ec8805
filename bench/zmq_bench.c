/* zmq_bench.c — loopback throughput of the ZeroMQ transport (zmq_bench.h). */
#include "zmq_bench.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "keys.h"
#include "mpc_err.h"
#include "transport_zmq.h"

typedef struct {
    mpc_transport *t;
    uint64_t total, per;        /* bytes */
    int rc;
    uint64_t end_us;
    char err[256];
} s_rx;

static void s_fmt(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void s_fmt(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || !errlen) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static void *s_rx_main(void *arg)
{
    s_rx *b = arg;
    uint64_t *buf = malloc(b->per);
    if (buf) memset(buf, 0, b->per);          /* fault the pages in before the clock runs */
    b->rc = buf ? mpc_transport_zmq_ready(b->t, 10000) : MPC_ERR_NOMEM;
    for (uint64_t seq = 0, got = 0; b->rc == 0 && got < b->total; seq++) {
        uint64_t n = (b->total - got < b->per ? b->total - got : b->per) / 8;
        b->rc = mpc_recv(b->t, 0, MPC_MSG_OPEN, 1, seq, buf, n, 60000);
        got += n * 8;
    }
    if (b->rc) snprintf(b->err, sizeof b->err, "%s", mpc_transport_zmq_last_error(b->t));
    b->end_us = mpc_now_us();
    free(buf);
    return NULL;
}

/* Party i of the pair, with room to hold everything the sender may push before the receiver
 * finishes its hello exchange. */
static int s_party(mpc_transport **t, uint32_t i, mpc_keypair *k[2], uint64_t total_bytes,
                   uint64_t msg_bytes, char *err, size_t errlen)
{
    mpc_zmq_config c;
    mpc_zmq_config_init(&c);
    c.self = i;
    c.n = 2;
    c.bind = "tcp://127.0.0.1:*";
    c.keys = k[i];
    memcpy(c.peer_public[1 - i], mpc_keypair_public(k[1 - i]), MPC_KEY_BYTES);
    c.max_msg_bytes = msg_bytes;
    c.max_held_bytes = total_bytes + 2 * msg_bytes;
    uint64_t msgs = total_bytes / msg_bytes + 16;
    c.max_held_msgs = (uint32_t)(msgs < 1u << 20 ? msgs : 1u << 20);
    return mpc_transport_zmq_new(t, &c, err, errlen);
}

int bench_zmq_loopback(uint64_t total_bytes, uint64_t msg_bytes, double *bytes_per_sec, char *err,
                       size_t errlen)
{
    if (!bytes_per_sec || total_bytes == 0 || total_bytes % 8 || msg_bytes == 0 || msg_bytes % 8)
        return MPC_ERR_INVALID;
    int r = MPC_ERR_NOMEM;
    mpc_keypair *k[2] = {mpc_keypair_new(), mpc_keypair_new()};
    mpc_transport *t[2] = {NULL, NULL};
    uint64_t *buf = malloc(msg_bytes);
    int started = 0;
    s_rx rx = {0};
    pthread_t th;
    if (!k[0] || !k[1] || !buf) goto out;
    for (uint64_t i = 0; i < msg_bytes / 8; i++) buf[i] = i * 0x9e3779b97f4a7c15ull;
    for (uint32_t i = 0; i < 2; i++)
        if ((r = s_party(&t[i], i, k, total_bytes, msg_bytes, err, errlen)) != 0) goto out;
    for (int i = 0; i < 2; i++)
        if ((r = mpc_transport_zmq_connect_peer(t[i], (uint32_t)(1 - i),
                                                mpc_transport_zmq_endpoint(t[1 - i]))) != 0)
            goto out;
    rx.t = t[1];
    rx.total = total_bytes;
    rx.per = msg_bytes;
    if (pthread_create(&th, NULL, s_rx_main, &rx) != 0) {
        r = MPC_ERR_IO;
        goto out;
    }
    started = 1;
    if ((r = mpc_transport_zmq_ready(t[0], 10000)) != 0) {
        s_fmt(err, errlen, "%s", mpc_transport_zmq_last_error(t[0]));
        goto out;
    }
    uint64_t t0 = mpc_now_us();
    for (uint64_t seq = 0, sent = 0; sent < total_bytes; seq++) {
        uint64_t n = (total_bytes - sent < msg_bytes ? total_bytes - sent : msg_bytes) / 8;
        if ((r = mpc_send(t[0], 1, MPC_MSG_OPEN, 1, seq, buf, n)) != 0) {
            s_fmt(err, errlen, "%s", mpc_transport_zmq_last_error(t[0]));
            goto out;
        }
        sent += n * 8;
    }
    pthread_join(th, NULL);
    started = 0;
    if ((r = rx.rc) != 0) {
        s_fmt(err, errlen, "%s", rx.err);
        goto out;
    }
    double secs = (double)(rx.end_us - t0) / 1e6;
    *bytes_per_sec = secs > 0 ? (double)total_bytes / secs : 0;
out:
    if (started) pthread_join(th, NULL);
    mpc_transport_destroy(&t[0]);
    mpc_transport_destroy(&t[1]);
    mpc_keypair_destroy(&k[0]);
    mpc_keypair_destroy(&k[1]);
    free(buf);
    return r;
}
