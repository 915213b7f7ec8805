/* server.h — one mpcd process: its configuration, keys, the party mesh, the client endpoint,
 * the job table and the job worker thread.  No globals: everything hangs off the server
 * object.  A dealer process (role = dealer) has the mesh and the worker only. */
#ifndef MPCD_SERVER_H
#define MPCD_SERVER_H

#include <stdatomic.h>
#include <stddef.h>

#include "config.h"

typedef struct mpcd_server mpcd_server;

/* Loads keys, binds the endpoints, starts the worker.  0 or MPC_ERR_* with one line in err
 * (naming the file or endpoint at fault). */
int  mpcd_server_new(mpcd_server **out, const mpcd_config *cfg, char *err, size_t errlen);
/* Serves until *stop becomes non-zero.  It is set from a signal handler, which may run on any
 * of the process's threads: a lock-free atomic, not a volatile sig_atomic_t, is what makes
 * that write visible to the serving thread.  When *reload (may be NULL) becomes non-zero
 * (SIGHUP), the serving thread clears it and reloads the configuration file within 200 ms:
 * what can change while running is applied, the rest is named in the log and kept; a file
 * with an error is refused whole, with the error logged (docs/daemon.md, "Reloading the
 * configuration"). */
int  mpcd_server_run(mpcd_server *s, const atomic_int *stop, atomic_int *reload);
/* The log level was given on the command line: a reload leaves it. */
void mpcd_server_keep_log_level(mpcd_server *s);
/* Stops the worker, closes every socket, wipes keys and jobs; sets *s to NULL. */
void mpcd_server_destroy(mpcd_server **s);

#endif
