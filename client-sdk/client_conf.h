/* client_conf.h — a client's configuration: an INI file (checked by the loader shared
 * with the daemon, protocols/inifile.h) naming the client's
 * key pair and the cluster's daemons in party order.  Documented in docs/client.md; the
 * example is configs/client.ini.  Errors name the file, the line and the reason.
 *
 *   [client]
 *   name            = analyst             ; for messages only: daemons know a client by its key
 *   public_key_file = keys/analyst.pub    ; relative paths are relative to this file's directory
 *   secret_key_file = keys/analyst.secret ; must not be readable by group or others
 *   timeout_ms      = 10000               ; longest wait for any one reply (100..3600000)
 *   max_message_bytes = 1073741824        ; largest reply frame accepted (1024..2^40)
 *
 *   [daemon a]                            ; one per daemon, in the cluster's party order
 *   endpoint   = tcp://127.0.0.1:7101     ; the daemon's client_endpoint
 *   public_key = <40 Z85 characters>      ; the daemon's CURVE public key
 */
#ifndef MPC_CLIENT_CONF_H
#define MPC_CLIENT_CONF_H

#include <stddef.h>
#include <stdint.h>

#include "circuit.h"
#include "keys.h"

#define MPC_CLIENT_PATH_MAX     512
#define MPC_CLIENT_ENDPOINT_MAX 256
#define MPC_CLIENT_KEY_BYTES    MPC_KEY_BYTES   /* keys.h */

typedef struct {
    char     name[MPC_NAME_MAX];
    char     endpoint[MPC_CLIENT_ENDPOINT_MAX];
    uint8_t  public_key[MPC_CLIENT_KEY_BYTES];
    uint32_t line;                            /* where its section starts */
} mpc_client_daemon_conf;

typedef struct {
    char     path[MPC_CLIENT_PATH_MAX];       /* the file read, for messages */
    char     name[MPC_NAME_MAX];
    char     public_key_file[MPC_CLIENT_PATH_MAX];   /* resolved against the file's directory */
    char     secret_key_file[MPC_CLIENT_PATH_MAX];
    int64_t  timeout_ms;
    int64_t  max_message_bytes;
    uint32_t n_daemons;                       /* 2..MPC_MAX_PARTIES, in party order */
    mpc_client_daemon_conf daemons[MPC_MAX_PARTIES];
} mpc_client_conf;

/* Reads and checks `path` (key files are not read here).  0, or MPC_ERR_CONFIG with
 * "path:line: error: reason" (line omitted when the problem is the file as a whole) in err. */
__attribute__((warn_unused_result))
int mpc_client_conf_load(const char *path, mpc_client_conf *cfg, char *err, size_t errlen);

/* Index of daemon `name`, or -1. */
int mpc_client_conf_daemon(const mpc_client_conf *cfg, const char *name);

/* Reads the client's key pair: pub receives the public key; secret (32 bytes the caller
 * allocated with sodium_malloc) the secret key, which must belong to pub.  The secret file
 * must be a regular file with no access for group or others.  0, or MPC_ERR_CONFIG /
 * MPC_ERR_DENIED / MPC_ERR_IO with a reason naming the file (never key material).  Key files
 * are those of protocols/keys.h (as `mpcd keygen` writes them). */
__attribute__((warn_unused_result))
int mpc_client_conf_load_keys(const mpc_client_conf *cfg, uint8_t pub[MPC_CLIENT_KEY_BYTES],
                              uint8_t *secret, char *err, size_t errlen);

#endif
