/* zmq_wipe.h — ZeroMQ messages that carry secrets (shares, seeds, PRG keys) are wiped before
 * their memory is released: received frames with mpc_zmq_msg_wipe_close(), and what we send
 * from a buffer of our own whose free function wipes it (mpc_zmq_msg_init_secret()), instead of
 * zmq_send()/zmq_msg_init_size(), whose copies libzmq frees without wiping.  Used by the peer
 * transport (transport_zmq.c) and mpcd's client endpoint.  Messages are passed as void * (a
 * zmq_msg_t *) so that this header does not include zmq.h.
 *
 * Known limit: libzmq's CURVE layer encrypts from and decrypts into buffers of its own, which
 * it frees without wiping; only the copies this code base holds are wiped. */
#ifndef MPC_ZMQ_WIPE_H
#define MPC_ZMQ_WIPE_H

#include <stddef.h>

/* Zeroes the data of msg (a zmq_msg_t * we received or own) and closes it. */
void mpc_zmq_msg_wipe_close(void *msg);

/* A zmq_msg_init_data() free function for malloc'ed buffers: wipes (size_t)(uintptr_t)hint
 * bytes of data, then frees it.  May run on a ZeroMQ I/O thread. */
void mpc_zmq_wipe_free(void *data, void *hint);

/* Initialises msg (a zmq_msg_t *) with a malloc'ed copy of data[0..len) that is released
 * through mpc_zmq_wipe_free().  len 0: an empty message.  0 or MPC_ERR_NOMEM (msg is then an
 * empty message, safe to close). */
int mpc_zmq_msg_init_secret(void *msg, const void *data, size_t len);

/* Initialises msg with `buf` (len bytes, malloc'ed), taking ownership: released through
 * mpc_zmq_wipe_free(), also when this call fails.  buf NULL with len 0: an empty message.
 * 0, or MPC_ERR_NOMEM / MPC_ERR_INVALID (NULL buf with len > 0); msg is then empty. */
int mpc_zmq_msg_init_owned_secret(void *msg, void *buf, size_t len);

#endif
