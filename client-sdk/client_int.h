/* client_int.h — the client SDK's internal structures, shared by its files (client.c: the
 * connection, jobs, inputs and outputs; csv.c: inputs from CSV files).  Not installed: the
 * public API is mpcclient.h. */
#ifndef MPC_CLIENT_INT_H
#define MPC_CLIENT_INT_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "circuit.h"
#include "client_conf.h"
#include "csv.h"
#include "cwire.h"
#include "format.h"
#include "mpcclient.h"

#define S_ERRMSG_MAX     768
#define S_WARN_MAX       512

struct mpc_client {
    mpc_client_conf cfg;
    void           *zctx;
    void           *sock[MPC_MAX_PARTIES];
    void           *mon[MPC_MAX_PARTIES];    /* socket monitors: why a connection fails */
    int             handshake_ok[MPC_MAX_PARTIES];
    int             auth_failed[MPC_MAX_PARTIES];
    int             connected[MPC_MAX_PARTIES];
    uint64_t        next_rid;
    char            errmsg[S_ERRMSG_MAX];
    mpc_progress_fn progress;
    void           *progress_ctx;
    int             progress_ms;
    char          (*warn)[S_WARN_MAX];       /* the last compile's warnings, one line each */
    size_t          n_warn;
    const volatile sig_atomic_t *intr;       /* mpc_client_set_interrupt, or NULL */
};

struct mpc_job {
    int          live;                            /* 0: staged (no id yet), 1: submitted or attached */
    int          bound;                           /* mpc_job_set_binding chose the binding */
    char         where[MPC_CWIRE_JOB_HEX + 8];    /* "job <id>: " once live, "" while staged */
    uint8_t      id[MPC_CWIRE_JOB_BYTES];
    char         id_hex[MPC_CWIRE_JOB_HEX + 1];
    uint8_t      hash[MPC_HASH_BYTES];
    char         hash_hex[2 * MPC_HASH_BYTES + 1];
    mpc_circuit *circ;
    uint32_t     k;                               /* program parties = bound daemons */
    int          malicious;                       /* a bound daemon runs security = malicious: inputs
                                                   * are authenticated (client_in.c) */
    int          sec_seen[2];                     /* 1 + a bound daemon that said semi-honest [0],
                                                   * malicious [1]; 0: none */
    uint32_t     daemon_of[MPC_MAX_PARTIES];      /* program party -> daemon index */
    char         daemon_names[MPC_MAX_PARTIES][MPC_NAME_MAX];   /* the same, by name */
    uint8_t     *circ_bytes;                      /* the .circ SUBMIT sends (malloc) */
    uint64_t     collect_ms, collect_count;       /* SUBMIT's collection options (0: the daemons') */
    size_t       circ_len;
    /* The inputs the parties give (pushdown.h, "declared inputs"): the circuit's own inputs
     * unless the circuit has owner-local parts, whose inputs replace the derived ones. */
    mpc_input   *decl;
    uint32_t     n_decl;
    uint64_t   **staged;                          /* per declared input: its staged values (sodium_malloc), or NULL */
    char        *src;                             /* the source it was compiled from (table defaults), or NULL */
    size_t       src_len;
    /* Per output, once fetched with something withheld by the release rules: the daemons'
     * note and a bit per element (malloc, or NULL). */
    char       **withheld_note;
    uint8_t    **withheld_bits;
    struct mpc_job_jkeys *jkeys;                  /* staged key columns of the program's joins (joinkeys.c), or NULL */
    uint8_t     *from_dataset;                    /* per declared input: 1 when the daemons read it from a
                                                   * stored dataset (dataset.c), or NULL: none */
};

/* malloc with a hidden size header, freed (and wiped) by mpc_client_free. */
void *mpc_client_alloc(size_t n);
/* Only the first `used` bytes of p (from mpc_client_alloc, at most its size) were ever
 * written: mpc_client_free wipes those, not the untouched rest (a buffer sized for the worst
 * case, e.g. an output's text, would otherwise be paged in just to be zeroed). */
void mpc_client_alloc_used(void *p, size_t used);

/* After a job is made from source: marks the declared inputs its program reads from stored
 * datasets (dataset.c).  0 or MPC_ERR_NOMEM. */
int mpc_job_mark_datasets(mpc_client *c, mpc_job *j);

/* What client.c lends client_out.c (outputs and status): the connection to daemon d and the
 * request/reply exchange over it.  mpc_client_send_req sends q (and payload, whose ownership
 * moves to ZeroMQ) to daemon d by deadline; mpc_client_recv_rep waits for the reply of
 * request rid of the given type (a RESULT's share goes to share, below); both name job_hex
 * in their errors.  mpc_client_req_init fills a request with a fresh id. */
int mpc_client_send_req(mpc_client *c, uint32_t d, const mpc_cwire_req *q, void *payload, size_t payload_len,
                        int64_t deadline, const char *job_hex);
/* A RESULT or MASK share's buffer: n elements expected; w holds cap words (sodium_allocarray'ed,
 * or NULL with cap 0) and grows to the reply's size (a MASK reply or a checked output is a
 * vector-check record, vcheck.h, a plain output n words: room is made when a daemon sends the
 * larger kind, not for every output). */
typedef struct {
    uint64_t *w;
    uint64_t  n, cap;
} mpc_share_buf;
int mpc_client_recv_rep(mpc_client *c, uint32_t d, uint64_t rid, uint8_t type, int64_t deadline, mpc_cwire_rep *rep,
                        mpc_share_buf *share, const char *job_hex);
void mpc_client_req_init(mpc_client *c, mpc_cwire_req *q, uint8_t type, const uint8_t *job);
/* Daemon d's name; why it did not answer (a phrase); whether the caller's interrupt flag is set. */
const char *mpc_client_dname(const mpc_client *c, uint32_t d);
const char *mpc_client_why_silent(mpc_client *c, uint32_t d);
int mpc_client_interrupted(const mpc_client *c);
/* The index of output `name` of the job's circuit, or -1; a value type's name. */
int mpc_job_find_output(const mpc_job *j, const char *name);
const char *mpc_client_type_name(uint8_t t);

/* The key columns of the program's private joins (joinkeys.c; circuits/joindecl.h).
 * keys_table: whether `table` is a side of one of the job's joins.  keys_csv: reads and stages
 * (or sends, when live) the key column of every join side whose table is `table` from the CSV
 * file.  keys_send: sends every staged key column to its own party's daemon, wiping it.
 * keys_missing: appends the key columns not given to list (as s_stage_seal does for inputs)
 * and returns missing plus their count.  keys_free: wipes what is staged. */
int    mpc_job_keys_table(const mpc_job *j, const char *table);
int    mpc_job_keys_csv(mpc_client *c, mpc_job *j, const char *table, const char *path, const mpc_csv_opts *o);
int    mpc_job_keys_send(mpc_client *c, mpc_job *j);
void   mpc_job_keys_drop(mpc_job *j, const char *table);   /* unstages the table's (not sent) */
size_t mpc_job_keys_missing(const mpc_job *j, char *list, size_t cap, size_t *off, size_t missing);
void   mpc_job_keys_free(mpc_job *j);

/* Notes what bound daemon d said of its security (SUBMIT or STATUS reply): j->malicious once
 * any says malicious; a job whose daemons disagree gets no input (mpc_job_auth_inputs). */
void mpc_job_note_security(mpc_job *j, uint32_t d, int malicious);

/* Gives the inputs vals[i] (non-NULL: its len words) to the live job whose daemons run
 * security = malicious (client_in.c; docs/security.md, "Authenticated client inputs"): MASK
 * for every input to every bound daemon (the claims first, then the records), the vector
 * check of each input's n records (mpc_vcheck_verify, which gives the masks' vector r), then
 * each input's one masked vector x − r to each daemon.  0 or MPC_ERR_* with the message set;
 * MPC_ERR_CRYPTO when some records are inconsistent (a daemon cheated): then no masked vector
 * was sent. */
int mpc_job_auth_inputs(mpc_client *c, mpc_job *j, uint64_t *const *vals);

/* Sets the client's error message (one line) and returns code. */
int mpc_client_seterr(mpc_client *c, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
