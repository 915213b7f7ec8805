/* mpcclient.h — the mpcd client SDK: the one public header (docs/client.md).
 *
 * An application opens a client from a client configuration (the cluster's daemons in party
 * order, the client's CURVE key pair), submits a compiled circuit (.circ) to every daemon,
 * gives the inputs it holds — the SDK secret-shares each value in this process, so no single
 * daemon ever sees it — and waits for the outputs addressed to it, which it reconstructs from
 * one share per daemon.
 *
 * Errors: every function that can fail returns 0 or a negative MPC_ERR_* code and leaves a
 * one-line message (naming the daemon, the job and the cause, never a secret) that
 * mpc_client_errmsg() returns until the next call on the same client.  A client is not
 * thread-safe: use one per thread.  Link with `pkg-config --libs mpcclient`.
 *
 *   mpc_client *c; mpc_job *j; char err[512], *text;
 *   mpc_client_open(&c, "client.ini", err, sizeof err);
 *   mpc_job_submit(c, circ, circ_len, NULL, &j);          // default binding
 *   mpc_job_input_text(c, j, "x", "1, 2, 3");
 *   mpc_job_output_text(c, j, "sum", 60000, &text);       // "6"
 *   mpc_client_free(text); mpc_job_free(&j); mpc_client_close(&c);
 */
#ifndef MPCCLIENT_H
#define MPCCLIENT_H

#include <stddef.h>
#include <stdint.h>

/* Error codes: MPC_ERR_* and mpc_strerror(), from mpc_err.h (installed next to this header;
 * the one list of the codes, shared with the daemon). */
#include "mpc_err.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MPCCLIENT_VERSION "0.1.0"

typedef struct mpc_client mpc_client;
typedef struct mpc_job    mpc_job;

/* --- Client ----------------------------------------------------------------------------- */

/* Opens a client from the configuration file at `config_path`: reads it and the key files,
 * and connects (lazily, in the background) one CURVE-authenticated socket per daemon.  The
 * secret key is held in guarded memory only until the sockets have it.  On failure *out is
 * NULL and err[0..errlen-1] receives the reason ("file:line: error: …" for configuration
 * errors). */
__attribute__((warn_unused_result))
int mpc_client_open(mpc_client **out, const char *config_path, char *err, size_t errlen);

/* Closes every socket and frees the client; sets *c to NULL.  Accepts NULL. */
void mpc_client_close(mpc_client **c);

/* The message of the last failed call on c ("" after a success). */
const char *mpc_client_errmsg(const mpc_client *c);

/* The configured daemons, in party order (names valid while c is open). */
size_t      mpc_client_n_daemons(const mpc_client *c);
const char *mpc_client_daemon_name(const mpc_client *c, size_t i);

/* Frees memory the SDK returned (texts, value arrays), wiping it first. */
void mpc_client_free(void *p);

/* Called while mpc_job_output waits, about every `interval_ms`, with the job's status on each
 * of its daemons (see mpc_daemon_status).  NULL turns progress reports off. */
typedef struct mpc_daemon_status mpc_daemon_status;
typedef void (*mpc_progress_fn)(void *ctx, const mpc_job *job, const mpc_daemon_status *st, size_t n);
void mpc_client_set_progress(mpc_client *c, mpc_progress_fn fn, void *ctx, int interval_ms);

/* Compiles the mpc program src[0..len-1] (`filename` names it in messages) with `param`
 * overrides defines[i] = "NAME=VALUE", exactly as mpcc does.  *circ receives the .circ bytes (*circ_len of them; free
 * with mpc_client_free).  0, or MPC_ERR_CIRCUIT with the first error ("file:line:col: error:
 * …") in err. */
__attribute__((warn_unused_result))
int mpc_client_compile(const char *src, size_t len, const char *filename, const char *const *defines,
                       size_t n_defines, uint8_t **circ, size_t *circ_len, char *err, size_t errlen);

/* --- Jobs ------------------------------------------------------------------------------- */

/* Submits the circuit circ[0..len-1] (.circ bytes) under a fresh job id to every configured
 * daemon.  `binding` maps the program's parties to daemons: NULL or "" binds the i-th party
 * to the i-th daemon; otherwise "party=daemon,party=daemon,…" naming every party once.  Each
 * daemon replies with the hash of the circuit it accepted; all must equal the hash computed
 * here, else MPC_ERR_PROTOCOL.  *out receives the job. */
__attribute__((warn_unused_result))
int mpc_job_submit(mpc_client *c, const uint8_t *circ, size_t len, const char *binding, mpc_job **out);

/* Takes part in a job someone else submitted (job id as 32 hex digits), for the circuit
 * circ[0..len-1], which this client must hold: every daemon is asked for the job, and each
 * must report the hash of this very circuit and one same binding, else MPC_ERR_CIRCUIT — a
 * client never contributes to a circuit it has not seen. */
__attribute__((warn_unused_result))
int mpc_job_attach(mpc_client *c, const char *job_id, const uint8_t *circ, size_t len, mpc_job **out);

/* Frees a job handle (the job itself lives on in the daemons); sets *j to NULL. */
void mpc_job_free(mpc_job **j);

/* The job id (32 hex digits) and circuit hash (64 hex digits). */
const char *mpc_job_id(const mpc_job *j);
const char *mpc_job_hash(const mpc_job *j);

/* The circuit's parties and the daemon each is bound to. */
size_t      mpc_job_n_parties(const mpc_job *j);
const char *mpc_job_party(const mpc_job *j, size_t i);
const char *mpc_job_party_daemon(const mpc_job *j, size_t i);

/* The circuit's inputs and outputs: name, owning party (inputs), type name ("int", "fix",
 * "bool") and length.  Out-of-range i gives NULL / 0. */
size_t      mpc_job_n_inputs(const mpc_job *j);
const char *mpc_job_input_name(const mpc_job *j, size_t i);
const char *mpc_job_input_party(const mpc_job *j, size_t i);
const char *mpc_job_input_type(const mpc_job *j, size_t i);
uint64_t    mpc_job_input_len(const mpc_job *j, size_t i);
size_t      mpc_job_n_outputs(const mpc_job *j);
const char *mpc_job_output_name(const mpc_job *j, size_t i);
const char *mpc_job_output_type(const mpc_job *j, size_t i);
uint64_t    mpc_job_output_len(const mpc_job *j, size_t i);
/* Fractional bits of the circuit's fix type. */
unsigned    mpc_job_frac_bits(const mpc_job *j);

/* Gives input `name`: n ring values (int two's complement, fix X = round(x·2^f), bool 0/1),
 * exactly the input's length.  The SDK shares them for the job's k daemons in binding order:
 * daemons 1..k−1 get a fresh 32-byte seed each, the last one x − Σ PRG(seed); everything
 * secret is wiped before return.  A daemon accepts an input once. */
__attribute__((warn_unused_result))
int mpc_job_input(mpc_client *c, mpc_job *j, const char *name, const uint64_t *values, uint64_t n);

/* The same from text: a list separated by commas and/or blanks, or "@path" naming a file
 * holding one (values in the input's type, exactly as mpcc --eval reads them). */
__attribute__((warn_unused_result))
int mpc_job_input_text(mpc_client *c, mpc_job *j, const char *name, const char *spec);

/* Waits up to timeout_ms (< 0: 10 minutes) for output `name`, fetches its share from every
 * daemon of the job and adds them.  *values receives a new array of *n ring values (free
 * with mpc_client_free).  MPC_ERR_TIMEOUT if not ready in time; the daemons' error (e.g.
 * MPC_ERR_DENIED when this client may not read the output, or the failed job's reason)
 * otherwise. */
__attribute__((warn_unused_result))
int mpc_job_output(mpc_client *c, mpc_job *j, const char *name, int timeout_ms,
                   uint64_t **values, uint64_t *n);

/* The same, formatted as mpcc --eval prints it: values in the output's type, ", "-separated.
 * *text is NUL-terminated (free with mpc_client_free). */
__attribute__((warn_unused_result))
int mpc_job_output_text(mpc_client *c, mpc_job *j, const char *name, int timeout_ms, char **text);

/* --- Status ----------------------------------------------------------------------------- */

struct mpc_daemon_status {
    char     daemon[64];
    int      reachable;          /* 1: it answered */
    int      error;              /* 0, or the MPC_ERR_* of its answer / of reaching it */
    char     message[512];       /* why, when error != 0 */
    /* the daemon */
    uint64_t jobs_queued, jobs_running, jobs_done, jobs_failed;
    uint64_t triples_stock;      /* Beaver triples the daemon holds ready (its pool) */
    uint64_t triples_per_s;      /* how fast the daemon's stock of triples is made */
    /* the job asked about, if any and known to this daemon */
    int      has_job;
    int      state;              /* see mpc_job_state_name */
    char     state_name[32];
    char     reason[512];        /* why it failed */
    uint64_t layers_done, layers_total, triples_used;
    uint32_t inputs_given, inputs_total;
};

/* Asks every configured daemon (job_id NULL) or about one job (32 hex digits).  Fills
 * st[0..n_daemons-1]; an unreachable daemon gets reachable = 0 and its reason, and does not
 * make the call fail.  Returns 0, or MPC_ERR_INVALID (bad arguments, cap too small). */
__attribute__((warn_unused_result))
int mpc_client_status(mpc_client *c, const char *job_id, mpc_daemon_status *st, size_t cap);

#ifdef __cplusplus
}
#endif
#endif
