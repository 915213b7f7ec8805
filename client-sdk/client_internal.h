/* client_internal.h — what the SDK's own tests may see of client.c beyond mpcclient.h.
 * Not installed; applications never include it. */
#ifndef MPC_CLIENT_INTERNAL_H
#define MPC_CLIENT_INTERNAL_H

#include <stddef.h>

/* Called with every block of secret values (staged inputs) just before the SDK releases it,
 * after wiping it: tests check that what is released holds only zeros.  NULL in normal use. */
extern void (*mpc_client_release_hook)(const void *p, size_t n);

#endif
