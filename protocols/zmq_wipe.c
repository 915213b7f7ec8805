/* zmq_wipe.c — wiped ZeroMQ messages (zmq_wipe.h). */
#include "zmq_wipe.h"

#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "mpc_err.h"

void mpc_zmq_msg_wipe_close(void *msg)
{
    zmq_msg_t *m = msg;
    size_t n = zmq_msg_size(m);
    if (n) sodium_memzero(zmq_msg_data(m), n);
    zmq_msg_close(m);
}

void mpc_zmq_wipe_free(void *data, void *hint)
{
    if (!data) return;
    sodium_memzero(data, (size_t)(uintptr_t)hint);
    free(data);
}

int mpc_zmq_msg_init_owned_secret(void *msg, void *buf, size_t len)
{
    zmq_msg_t *m = msg;
    if (len == 0 || !buf) {
        mpc_zmq_wipe_free(buf, (void *)(uintptr_t)len);
        zmq_msg_init(m);
        return len == 0 ? 0 : MPC_ERR_INVALID;
    }
    if (zmq_msg_init_data(m, buf, len, mpc_zmq_wipe_free, (void *)(uintptr_t)len) != 0) {
        mpc_zmq_wipe_free(buf, (void *)(uintptr_t)len);
        zmq_msg_init(m);
        return MPC_ERR_NOMEM;
    }
    return 0;
}

int mpc_zmq_msg_init_secret(void *msg, const void *data, size_t len)
{
    if (len == 0) {
        zmq_msg_init((zmq_msg_t *)msg);
        return 0;
    }
    void *buf = malloc(len);
    if (!buf) {
        zmq_msg_init((zmq_msg_t *)msg);
        return MPC_ERR_NOMEM;
    }
    memcpy(buf, data, len);
    return mpc_zmq_msg_init_owned_secret(msg, buf, len);
}
