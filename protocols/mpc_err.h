/* mpc_err.h — the one error vocabulary of protocols/, mpcd/ and client-sdk/.
 * Functions that can fail return 0 or a negative MPC_ERR_* code; mpc_strerror() names it.
 * circuits/ keeps its own (it depends on nothing of ours) and reports through message buffers.
 *
 * MPC_ERR_LIST below is the only list of the codes.  It is part of the public SDK: the public
 * header client-sdk/mpcclient.h includes this file (both are installed), and the Python
 * binding's names (client-sdk/python/mpc_errors.py) are generated from it by
 * scripts/gen-errors-py, which the Makefile runs whenever this file changes.  Keep one
 * X(NAME, value, "message") entry per line: the generator reads exactly that shape. */
#ifndef MPC_ERR_H
#define MPC_ERR_H

#define MPC_ERR_LIST(X)                                                         \
    X(OK,          0,   "success")                                               \
    X(NOMEM,      -1,   "out of memory")                                         \
    X(INVALID,    -2,   "invalid argument")                                      \
    X(PROTOCOL,   -3,   "protocol violation by a peer")                          \
    X(TIMEOUT,    -4,   "timed out")                                             \
    X(PEER_ABORT, -5,   "a peer aborted the job")                                \
    X(IO,         -6,   "network or I/O error")                                  \
    X(CRYPTO,     -7,   "cryptographic failure")                                 \
    X(UNSUPPORTED,-8,   "not supported")                                         \
    X(PREP,       -9,   "preprocessing material unavailable")                    \
    X(DENIED,    -10,   "permission denied")                                     \
    X(NOTFOUND,  -11,   "not found")                                             \
    X(LIMIT,     -12,   "resource limit exceeded")                               \
    X(CIRCUIT,   -13,   "invalid circuit")                                       \
    X(INPUT,     -14,   "invalid input")                                         \
    X(CONFIG,    -15,   "invalid configuration")                                 \
    X(STATE,     -16,   "operation not valid in the current state")              \
    X(CLOSED,    -17,   "shut down")                                             \
    X(CANCELLED, -18,   "cancelled")

/* MPC_API marks the functions of the public client SDK (this file and client-sdk/mpcclient.h):
 * the only symbols libmpcclient.so exports.  The library's objects are compiled with
 * -fvisibility=hidden, so a function without it stays internal (docs/client.md, "Installing
 * the SDK"); tests/sdk_install.test.sh checks that the exports are exactly these declarations. */
#ifndef MPC_API
#define MPC_API __attribute__((visibility("default")))
#endif

#ifdef __cplusplus
extern "C" {
#endif

enum {
#define X(name, val, msg) MPC_ERR_##name = (val),
    MPC_ERR_LIST(X)
#undef X
};

MPC_API const char *mpc_strerror(int code);

#ifdef __cplusplus
}
#endif

#endif
