/* mpcclient.h — the mpcd client SDK: the one public header (docs/client.md).
 *
 * An application opens a client from a client configuration (the cluster's daemons in party
 * order, the client's CURVE key pair) and stages a job locally: it creates the job from a
 * program (an mpc source, compiled here, or a compiled .circ), gives the inputs it holds —
 * each is checked against the program (name, length, values of the input's type) and kept in
 * guarded memory — and optionally binds the program's parties to daemons.  Submitting sends
 * the circuit to every daemon and then the staged inputs, secret-shared in this process so
 * no single daemon ever sees a value; outputs addressed to the client are reconstructed from
 * one share per daemon.  A job someone else submitted is joined with mpc_job_attach instead.
 *
 * Errors: every function that can fail returns 0 or a negative MPC_ERR_* code and leaves a
 * one-line message (naming the daemon, the job and the cause, never a secret) that
 * mpc_client_errmsg() returns until the next call on the same client.  A client is not
 * thread-safe: use one per thread.  Link with `pkg-config --libs mpcclient`.
 *
 *   mpc_client *c; mpc_job *j; char err[512], *text;
 *   mpc_client_open(&c, "client.ini", err, sizeof err);
 *   mpc_job_create_file(c, "sum.mpc", NULL, 0, 0, &j);    // compiled here; warnings: mpc_client_warning
 *   mpc_job_input_text(c, j, "x", "1, 2, 3");             // checked and kept locally
 *   mpc_job_submit(c, j, MPC_SUBMIT_ALL_INPUTS);          // circuit, then the shared inputs
 *   mpc_job_output_text(c, j, "sum", 60000, &text);       // "6"
 *   mpc_client_free(text); mpc_job_free(&j); mpc_client_close(&c);
 */
#ifndef MPCCLIENT_H
#define MPCCLIENT_H

#include <signal.h>
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
MPC_API int mpc_client_open(mpc_client **out, const char *config_path, char *err, size_t errlen);

/* Closes every socket and frees the client; sets *c to NULL.  Accepts NULL. */
MPC_API void mpc_client_close(mpc_client **c);

/* The message of the last failed call on c ("" after a success). */
MPC_API const char *mpc_client_errmsg(const mpc_client *c);

/* The configured daemons, in party order (names valid while c is open). */
MPC_API size_t      mpc_client_n_daemons(const mpc_client *c);
MPC_API const char *mpc_client_daemon_name(const mpc_client *c, size_t i);

/* Makes the client's waits interruptible: while *flag is non-zero, a call waiting for a daemon
 * (an output, a reply) returns MPC_ERR_CANCELLED promptly ("interrupted").  Meant for a signal
 * handler that sets the flag: install it without SA_RESTART so a blocked wait wakes at once.
 * mpc_job_cancel / mpc_client_cancel ignore the flag, so the application can still cancel its
 * job before it exits.  NULL turns this off. */
MPC_API void mpc_client_set_interrupt(mpc_client *c, const volatile sig_atomic_t *flag);

/* Frees memory the SDK returned (texts, value arrays), wiping it first. */
MPC_API void mpc_client_free(void *p);

/* Called while mpc_job_output waits, about every `interval_ms`, with the job's status on each
 * of its daemons (see mpc_daemon_status).  NULL turns progress reports off. */
typedef struct mpc_daemon_status mpc_daemon_status;
typedef void (*mpc_progress_fn)(void *ctx, const mpc_job *job, const mpc_daemon_status *st, size_t n);
MPC_API void mpc_client_set_progress(mpc_client *c, mpc_progress_fn fn, void *ctx, int interval_ms);

/* Compiles the mpc program src[0..len-1] (`filename` names it in messages) with `param`
 * overrides defines[i] = "NAME=VALUE", exactly as mpcc does.  *circ receives the .circ bytes (*circ_len of them; free
 * with mpc_client_free).  0, or MPC_ERR_CIRCUIT with the first error ("file:line:col: error:
 * …") in err. */
__attribute__((warn_unused_result))
MPC_API int mpc_client_compile(const char *src, size_t len, const char *filename, const char *const *defines,
                       size_t n_defines, uint8_t **circ, size_t *circ_len, char *err, size_t errlen);

/* The compiler's warnings of the last mpc_job_create_source / mpc_job_create_file call on c,
 * one line each ("file:line:col: warning: …", no newline); kept until the next such call,
 * also when that call failed (e.g. refused by MPC_JOB_STRICT).  Out-of-range i gives NULL. */
MPC_API size_t      mpc_client_n_warnings(const mpc_client *c);
MPC_API const char *mpc_client_warning(const mpc_client *c, size_t i);

/* --- Jobs: staging ---------------------------------------------------------------------- *
 *
 * A job starts staged: it exists only in this process, with its circuit, the default binding
 * and no id (mpc_job_id gives "").  mpc_job_submit or mpc_job_attach makes it live. */

/* Creates a staged job from the circuit circ[0..len-1] (.circ bytes, copied).  Checks that the
 * program's party count fits the configured daemons. */
__attribute__((warn_unused_result))
MPC_API int mpc_job_create(mpc_client *c, const uint8_t *circ, size_t len, mpc_job **out);

/* Refuse a program the compiler warns about (MPC_ERR_CIRCUIT, the first warning in the
 * message; every warning stays readable with mpc_client_warning). */
#define MPC_JOB_STRICT 1u
/* Compile without owner-local pushdown (circuits/LANGUAGE.md, "Owner-local pushdown"): every
 * gate runs under MPC.  By default a part of the program that depends on one party's inputs
 * alone is computed in the clear by the client giving them, and only its results are shared.
 * The circuit (and its hash) differs, so every party of a job must choose alike. */
#define MPC_JOB_NO_PUSHDOWN 2u

/* Creates a staged job from mpc source src[0..len-1] compiled here (as mpc_client_compile;
 * `filename` names it in messages, defines[i] = "NAME=VALUE").  Compile errors give
 * MPC_ERR_CIRCUIT with the first one ("file:line:col: error: …"); warnings are kept on the
 * client (mpc_client_warning).  flags: MPC_JOB_STRICT, MPC_JOB_NO_PUSHDOWN or 0. */
__attribute__((warn_unused_result))
MPC_API int mpc_job_create_source(mpc_client *c, const char *src, size_t len, const char *filename,
                          const char *const *defines, size_t n_defines, unsigned flags, mpc_job **out);

/* The same from a file: a path ending in ".circ" is a compiled circuit (then no defines are
 * allowed), anything else a source compiled with mpc_job_create_source. */
__attribute__((warn_unused_result))
MPC_API int mpc_job_create_file(mpc_client *c, const char *path, const char *const *defines, size_t n_defines,
                        unsigned flags, mpc_job **out);

/* Binds the program's parties to daemons, before submit: "party=daemon,party=daemon,…"
 * naming every party once (NULL or "": the i-th party to the i-th daemon, the default). */
__attribute__((warn_unused_result))
MPC_API int mpc_job_set_binding(mpc_client *c, mpc_job *j, const char *binding);

/* Gives input `name`: n ring values (int two's complement, fix X = round(x·2^f), bool 0/1),
 * exactly the input's length.  Checked here against the program: an unknown name
 * (MPC_ERR_NOTFOUND), a wrong length or a bool value other than 0/1 (MPC_ERR_INPUT), an
 * input given twice (MPC_ERR_STATE) are refused with a message naming the input.
 * On a staged job the values are copied into guarded memory (sodium_malloc), wiped when they
 * have been shared or when the job is freed, and sent by mpc_job_submit / mpc_job_attach.
 * On a live job they are shared and sent at once.  Sharing, for the job's k daemons in
 * binding order: daemons 1..k−1 get a fresh 32-byte seed each, the last one x − Σ PRG(seed);
 * everything secret is wiped after sending.  A daemon accepts an input once; whether this
 * client may give it (the daemons' input_for rights) is decided by the daemons.
 * Since SDK 1.6, when the job's daemons run security = malicious (their SUBMIT or STATUS
 * reply says so) every input is an authenticated input instead (docs/client.md, "Daemons with
 * security = malicious"): the call then returns once the job runs and the daemons' shares of
 * its mask passed this client's check (MPC_ERR_CRYPTO, nothing sent, when they do not). */
__attribute__((warn_unused_result))
MPC_API int mpc_job_input(mpc_client *c, mpc_job *j, const char *name, const uint64_t *values, uint64_t n);

/* The same from text: a list separated by commas and/or blanks, or "@path" naming a file
 * (CSV: one value a line, or comma-separated) holding one; values in the input's type,
 * exactly as mpcc --eval reads them.  Text that does not parse is refused (MPC_ERR_INPUT,
 * naming the input). */
__attribute__((warn_unused_result))
MPC_API int mpc_job_input_text(mpc_client *c, mpc_job *j, const char *name, const char *spec);

/* --- Inputs from CSV files (client-sdk/csv.c; circuits/LANGUAGE.md, "Tables from CSV files") */

/* An empty cell of a column without a default reads as 0 (`--missing=zero`). */
#define MPC_CSV_MISSING_ZERO 1u

/* Gives table `name` of the program (`input labs: table(...)[N] from a`) from the CSV file at
 * path: each column "name.COL" from the file's column named COL in its header (extra
 * columns are ignored; a missing one is refused naming it), every cell read in the column's
 * type exactly as mpc_job_input_text reads values; an empty cell takes the column's default
 * (when the job was compiled here from source), else 0 with MPC_CSV_MISSING_ZERO, else is an
 * error.  The file's row count must be the table's.  sep: NULL or "," (default), ";" or
 * "tab".  Errors: MPC_ERR_INPUT "file:line:col: error: …" (no cell content is quoted),
 * MPC_ERR_NOTFOUND (no such table), MPC_ERR_STATE (a column already given); then nothing is
 * staged.  Otherwise every column is given as by mpc_job_input (the values read are wiped).
 * Stage a table before submit or attach when the party's owner-local part reads several of
 * its columns.  A table the program joins (`join(labs, claims, on patient_id)`, docs/join.md)
 * also gives its key column: read from the file's column of that name, every key canonical
 * (blanks trimmed, case kept), and sent in the clear to the daemon of the table's own party
 * only (never to another daemon), which checks this client's right to give that party's
 * inputs. */
__attribute__((warn_unused_result))
MPC_API int mpc_job_input_csv(mpc_client *c, mpc_job *j, const char *name, const char *path, const char *sep,
                              unsigned flags);

/* Gives the key column of table `table` of the program's joins (since SDK 1.4): n keys
 * (NUL-terminated strings, one a row in the table's row order, n = the table's rows), each
 * made canonical (circuits/joindecl.h: leading and trailing blanks removed, case kept, 1 to
 * 255 bytes of printable text).  Staged like an input, then sent to the daemon of the table's
 * own party only; the other columns of the table are given as inputs "table.COL".  Errors:
 * MPC_ERR_NOTFOUND (the program joins no such table), MPC_ERR_INPUT (row count, a key not
 * canonicalisable: the message names the row, never the key), MPC_ERR_STATE (given already).
 * A duplicate key is refused by the join when the job runs ("duplicate keys on side A"). */
__attribute__((warn_unused_result))
MPC_API int mpc_job_input_keys(mpc_client *c, mpc_job *j, const char *table, const char *const *keys, uint64_t n);

/* When the source src[0..src_len-1] leaves table `table`'s row count to a param without value
 * (`param N`), writes "N=ROWS" into define[0..len-1], ROWS being the data rows of the CSV file
 * at path; else writes "".  Give it to mpc_job_create_source (unless you set N yourself: then
 * the file must match it).  0, or MPC_ERR_INPUT / MPC_ERR_INVALID with a message. */
__attribute__((warn_unused_result))
MPC_API int mpc_table_row_define(mpc_client *c, const char *src, size_t src_len, const char *table, const char *path,
                                 const char *sep, char *define, size_t len);

/* Refuse to submit unless every input of the program is staged (MPC_ERR_INPUT naming each
 * missing one): for a client that gives all inputs itself, e.g. `mpc run`. */
#define MPC_SUBMIT_ALL_INPUTS 1u

/* Submits the staged job j under a fresh job id to every configured daemon, then shares and
 * sends its staged inputs.  Each daemon replies with the hash of the circuit it accepted; all
 * must equal the hash computed here, else MPC_ERR_PROTOCOL.  If the submission itself fails
 * (a daemon refused it or did not answer) it is withdrawn from the daemons that accepted it
 * (cancelled there) and the job stays staged (with its inputs; a retry draws a new id); if an input fails after the
 * daemons accepted the job, the job is live and the error names the input.  flags: 0 or
 * MPC_SUBMIT_ALL_INPUTS. */
__attribute__((warn_unused_result))
MPC_API int mpc_job_submit(mpc_client *c, mpc_job *j, unsigned flags);

/* Joins a job someone else submitted (job id as 32 hex digits) with the staged job j, whose
 * program this client holds: every daemon is asked for the job, and each must report the
 * hash of this very circuit and one same binding (equal to j's if mpc_job_set_binding was
 * called), else MPC_ERR_CIRCUIT — a client never contributes to a circuit it has not seen.
 * Then j is live with the job's id and binding, and its staged inputs are shared and sent. */
__attribute__((warn_unused_result))
MPC_API int mpc_job_attach(mpc_client *c, mpc_job *j, const char *job_id);

/* Cancels a live job on every configured daemon (docs/daemon.md, "Cancelling a job"): a job
 * still queued is dropped with its inputs wiped, a running one is stopped at its next round,
 * a finished one has its outputs wiped; it then reports the state "cancelled" with the reason
 * "cancelled by client NAME".  Allowed for the client that submitted the job and for a client
 * with the `cancel` right.  0 when every daemon holding the job cancelled it; MPC_ERR_DENIED
 * (no right), MPC_ERR_IO / MPC_ERR_TIMEOUT (a daemon unreachable) with the first daemon's
 * message; MPC_ERR_NOTFOUND when no daemon holds it; MPC_ERR_STATE on a staged job.  Waits at
 * most 3 s (or the configured timeout_ms, if shorter) for the daemons: a daemon that is down
 * does not hold up an application cancelling on its way out.
 * mpc_job_submit withdraws (cancels) by itself a submission that a daemon refused. */
__attribute__((warn_unused_result))
MPC_API int mpc_job_cancel(mpc_client *c, mpc_job *j);
/* The same by job id (32 hex digits), for a job this process did not submit; waits up to the
 * configured timeout_ms. */
__attribute__((warn_unused_result))
MPC_API int mpc_client_cancel(mpc_client *c, const char *job_id);

/* Frees a job handle (wiping staged inputs; a live job lives on in the daemons); sets *j to
 * NULL.  Accepts NULL. */
/* Contributes one vector to the contribution collection `input` (as declared: `input g:
 * fix[D] from contributors in LO..HI`) of a job, which j must be attached to (mpc_job_attach
 * after mpc_job_create_source or _file: the program gives D, the type and the validity range;
 * docs/contributions.md).  values: the D values as text (commas or blanks), each checked
 * against the range; token_hex: the contributor's token, 96 hex digits.  The contribution is
 * encoded, proved valid for the range (protocols/flp.h, 2 proofs: about 7 ms of CPU for
 * D = 1,000), shared in the field among the job's daemons with a fresh nonce and sent to
 * each; a collection declared `from contributors unchecked` gets its share without a proof
 * (docs/contributions.md, "Collections without validity checks").  0, or
 * MPC_ERR_* with the message of the first daemon that refused (MPC_ERR_STATE: a duplicate
 * contribution or a closed collection; MPC_ERR_DENIED: a bad token or no `contribute` right;
 * MPC_ERR_LIMIT: too many pending, retry). */
MPC_API int mpc_job_contribute(mpc_client *c, mpc_job *j, const char *input, const char *values, const char *token_hex);
/* The same in two steps (since SDK 1.5), for a contributor that prepares its contribution
 * before it is online, or a load generator that prepares many before a timed run:
 * mpc_job_contribution_make checks, encodes, proves and shares the values exactly as
 * mpc_job_contribute does (with a fresh nonce), touching no daemon, into *out;
 * mpc_job_contribution_send sends it to the job's daemons and waits for their replies (the
 * errors of mpc_job_contribute).  j may be another handle of the same job (another
 * connection, e.g. one per thread: a prepared contribution is independent of the client);
 * MPC_ERR_INVALID when it is another job.  A contribution refused with MPC_ERR_LIMIT may be
 * sent again as it is (same nonce: docs/contributions.md, "Keys, rights and deduplication");
 * it remembers which daemons accepted it, and a resend goes only to the others (the ones
 * that accepted would refuse it as a duplicate).
 * mpc_contribution_free wipes and frees it (accepts NULL; sets *x to NULL).  A contribution
 * holds the shares of the values: free it once sent. */
typedef struct mpc_contribution mpc_contribution;
__attribute__((warn_unused_result))
MPC_API int mpc_job_contribution_make(mpc_client *c, mpc_job *j, const char *input, const char *values,
                                      const char *token_hex, mpc_contribution **out);
__attribute__((warn_unused_result))
MPC_API int mpc_job_contribution_send(mpc_client *c, mpc_job *j, mpc_contribution *x);
MPC_API void mpc_contribution_free(mpc_contribution **x);
/* Sends n (1 .. MPC_CONTRIB_SEND_MAX) made contributions at once (since SDK 1.5), for a
 * gateway that relays many: every request goes out before the first reply is awaited, so
 * the daemons and ZeroMQ handle them in a stream instead of one round trip each.  rcs[i]
 * receives contribution i's result (0 or the error mpc_job_contribution_send would give: one
 * refused with MPC_ERR_LIMIT may be sent again).  Returns 0 when every one was taken, else
 * the first error (its message in mpc_client_errmsg). */
#define MPC_CONTRIB_SEND_MAX 64
__attribute__((warn_unused_result))
MPC_API int mpc_job_contribution_send_many(mpc_client *c, mpc_job *j, mpc_contribution *const *x, size_t n, int *rcs);
/* Before submit: the job's contribution collections close after window_ms or at max_count
 * contributions, whichever comes first (0: the daemons' contrib_window_ms / contrib_max_count,
 * which are also the most a daemon grants).  0 or MPC_ERR_*. */
MPC_API int mpc_job_set_collection(mpc_client *c, mpc_job *j, uint64_t window_ms, uint64_t max_count);

MPC_API void mpc_job_free(mpc_job **j);

/* 1 once submitted or attached, 0 while staged. */
MPC_API int mpc_job_is_live(const mpc_job *j);

/* The job id (32 hex digits; "" while staged) and circuit hash (64 hex digits). */
MPC_API const char *mpc_job_id(const mpc_job *j);
MPC_API const char *mpc_job_hash(const mpc_job *j);

/* The circuit's parties and the daemon each is bound to. */
MPC_API size_t      mpc_job_n_parties(const mpc_job *j);
MPC_API const char *mpc_job_party(const mpc_job *j, size_t i);
MPC_API const char *mpc_job_party_daemon(const mpc_job *j, size_t i);

/* The circuit's inputs and outputs: name, owning party (inputs), type name ("int", "fix",
 * "bool") and length; whether an input is staged (given and not yet sent).  Out-of-range i
 * gives NULL / 0. */
MPC_API size_t      mpc_job_n_inputs(const mpc_job *j);
MPC_API const char *mpc_job_input_name(const mpc_job *j, size_t i);
MPC_API const char *mpc_job_input_party(const mpc_job *j, size_t i);
MPC_API const char *mpc_job_input_type(const mpc_job *j, size_t i);
MPC_API uint64_t    mpc_job_input_len(const mpc_job *j, size_t i);
MPC_API int         mpc_job_input_staged(const mpc_job *j, size_t i);
MPC_API size_t      mpc_job_n_outputs(const mpc_job *j);
MPC_API const char *mpc_job_output_name(const mpc_job *j, size_t i);
MPC_API const char *mpc_job_output_type(const mpc_job *j, size_t i);
MPC_API uint64_t    mpc_job_output_len(const mpc_job *j, size_t i);
/* Fractional bits of the circuit's fix type. */
MPC_API unsigned    mpc_job_frac_bits(const mpc_job *j);

/* --- Jobs: outputs ---------------------------------------------------------------------- */

/* Waits up to timeout_ms (< 0: 10 minutes) for output `name` of a live job, fetches its share
 * from every daemon of the job (asking them all at once, taking the shares as they come) and
 * adds them.  *values receives a new array of *n ring values
 * (free with mpc_client_free).  MPC_ERR_STATE on a staged job; MPC_ERR_TIMEOUT if not ready
 * in time; the daemons' error (e.g. MPC_ERR_DENIED when this client may not read the output,
 * or the failed job's reason) otherwise. */
__attribute__((warn_unused_result))
MPC_API int mpc_job_output(mpc_client *c, mpc_job *j, const char *name, int timeout_ms,
                   uint64_t **values, uint64_t *n);

/* What the daemons' release rules (docs/governance.md, "Release rules") withheld of output
 * `name`, known once mpc_job_output fetched it: their note, e.g. "output 'h' elements 0, 2
 * withheld: fewer than min_rows = 10 rows", or "" when every element was released (or it was
 * not fetched yet).  A withheld element carries no value (mpc_job_output gives 0 for it). */
MPC_API const char *mpc_job_output_note(const mpc_job *j, const char *name);
/* 1 when element i of output `name` was withheld, else 0. */
MPC_API int         mpc_job_output_withheld(const mpc_job *j, const char *name, uint64_t i);

/* The same, formatted as mpcc --eval prints it: values in the output's type, ", "-separated;
 * an element withheld by the release rules reads "withheld".
 * *text is NUL-terminated (free with mpc_client_free). */
__attribute__((warn_unused_result))
MPC_API int mpc_job_output_text(mpc_client *c, mpc_job *j, const char *name, int timeout_ms, char **text);

/* --- Status ----------------------------------------------------------------------------- */

#define MPC_STATUS_MAX_PEERS 17
#define MPC_PEER_CONNECTED   0   /* connected and authenticated */
#define MPC_PEER_KEY_REFUSED 1   /* the peer refused this daemon's key */
#define MPC_PEER_UNREACHABLE 2   /* no working connection (down, frozen, or never reached) */

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
    int      state;              /* a number; state_name names it ("queued", "running", …) */
    char     state_name[32];
    char     reason[512];        /* why it failed */
    uint64_t layers_done, layers_total, triples_used;
    uint32_t inputs_given, inputs_total;
    /* its preprocessing: Beaver triples made for it so far, needed in all, made per second
     * (ETA = (needed - made) / per_s) */
    uint64_t prep_made, prep_needed, prep_per_s;
    /* the daemon's peers (the other daemons, and the dealer if any) as its connections to
     * them last showed: MPC_PEER_* and for how long (ms) */
    size_t   n_peers;
    struct {
        char     name[64];
        int      state;
        uint64_t for_ms;
    } peers[MPC_STATUS_MAX_PEERS];
};

/* Asks every configured daemon (job_id NULL) or about one job (32 hex digits).  Fills
 * st[0..n_daemons-1]; an unreachable daemon gets reachable = 0 and its reason, and does not
 * make the call fail.  The daemons are asked all at once, each with the client's whole
 * timeout of its own: a frozen daemon is reported, and only it, within the timeout.
 * Returns 0, or MPC_ERR_INVALID (bad arguments, cap too small). */
__attribute__((warn_unused_result))
MPC_API int mpc_client_status(mpc_client *c, const char *job_id, mpc_daemon_status *st, size_t cap);

/* One job of mpc_client_jobs: merged over the daemons that reported it. */
typedef struct {
    char     id[33];             /* 32 hex digits */
    int      state;              /* the least advanced state any daemon reports; failed wins */
    char     state_name[32];
    uint64_t age_s;              /* since its submission */
    char     submitter[64];      /* the client that submitted it */
    uint64_t layers_done, layers_total;
    uint64_t prep_made, prep_needed;   /* triples made / needed for it (the slowest daemon) */
    uint32_t n_daemons;          /* how many daemons reported it */
} mpc_job_status;

/* The jobs this client submitted (a daemon lists a client's own jobs only, the newest 64 on
 * each daemon), asked of every daemon at once as mpc_client_status does.  *jobs receives an
 * array of *n (free with mpc_client_free), oldest first.  0, or MPC_ERR_IO when no daemon
 * answered. */
__attribute__((warn_unused_result))
MPC_API int mpc_client_jobs(mpc_client *c, mpc_job_status **jobs, size_t *n);

/* --- Stored datasets (docs/datasets.md) ----------------------------------------------------
 * A dataset is a table secret-shared once by its owner's client among every daemon of the
 * configuration and kept by each, encrypted at rest; a program reads it with
 * `input T: table(...)[N] from PARTY dataset "NAME"` (circuits/LANGUAGE.md, "Datasets"), and the
 * daemons give its columns to the job themselves: a job made from such a source needs none of
 * them from a client (mpc_job_input refuses them; MPC_SUBMIT_ALL_INPUTS does not ask for
 * them).  Rights are the daemons' ([dataset NAME] writers and readers). */

/* A dataset as every daemon describes it (mpc_dataset_list checks that they agree). */
typedef struct {
    char     name[64], owner[64], uploader[64];
    uint64_t rows;
    uint64_t bytes;               /* stored on all daemons together */
    int64_t  created, modified;   /* Unix seconds (the first daemon's) */
    uint32_t n_cols, uploads, frac;
    char     col_names[64][64];
    char     col_types[64][8];    /* "int", "fix", "bool" */
} mpc_dataset_info;

/* mpc_dataset_upload_csv: add rows to an existing dataset instead of making or replacing it. */
#define MPC_DATASET_APPEND 1u

/* Uploads the CSV file at path (a header naming the columns; streamed through fixed buffers,
 * never held whole) as dataset `name` of party `owner`: schema lists its columns as in a table
 * declaration ("age: int in 0..120, glucose: fix = 5"; defaults fill empty cells, ranges are
 * checked), frac is the fractional bits of its fix columns (16 unless the program sets
 * `precision`).  Each chunk of rows is secret-shared as job inputs are (fresh seeds to every
 * daemon but the last, the rest explicitly) and sent to every daemon; nothing is visible before
 * every daemon has all of it.  Without MPC_DATASET_APPEND an existing dataset is replaced.
 * flags may add MPC_CSV_MISSING_ZERO.  *rows (may be NULL): the dataset's rows afterwards. */
__attribute__((warn_unused_result))
MPC_API int mpc_dataset_upload_csv(mpc_client *c, const char *name, const char *path, const char *schema,
                                   const char *owner, unsigned frac, const char *sep, unsigned flags, uint64_t *rows);

/* Every dataset, from every daemon: an error unless all describe the same ones alike.  *out
 * (free with mpc_client_free) receives *n entries sorted by name. */
__attribute__((warn_unused_result))
MPC_API int mpc_dataset_list(mpc_client *c, mpc_dataset_info **out, size_t *n);

/* Deletes the dataset on every daemon (each overwrites and unlinks its files). */
__attribute__((warn_unused_result))
MPC_API int mpc_dataset_delete(mpc_client *c, const char *name);

/* For the index-th dataset table of the source (0-based): when its row count is a param left
 * without value, writes "N=ROWS" (ROWS from the daemons) into define, else "".  0;
 * MPC_ERR_NOTFOUND when the source has no such table; or another code with a message. */
__attribute__((warn_unused_result))
MPC_API int mpc_dataset_row_define(mpc_client *c, const char *src, size_t src_len, size_t index, char *define,
                                   size_t len);

#ifdef __cplusplus
}
#endif
#endif
