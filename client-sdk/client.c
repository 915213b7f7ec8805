/* client.c — the client SDK (mpcclient.h): one CURVE DEALER per daemon, request/reply with
 * the cwire codec, local secret sharing of inputs and reconstruction of outputs.
 * Requests to several daemons are sent first and answered after, so a call costs about one
 * round trip to the slowest daemon, not the sum. */
#include "mpc_err.h"
#include "mpcclient.h"

#include <errno.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "circuit.h"
#include "client_conf.h"
#include "client_int.h"
#include "joindecl.h"
#include "contrib.h"
#include "clock.h"
#include "compile.h"
#include "cwire.h"
#include "format.h"
#include "pushdown.h"
#include "value.h"

#define s_seterr mpc_client_seterr   /* client_int.h */
#define S_UNBOUND_WAIT_MS 1500       /* mpc_job_submit: longest wait for a daemon not bound to the job */
#define S_CANCEL_WAIT_MS 3000        /* mpc_job_cancel, withdrawals: longest wait for the daemons */

/* --------------------------------------------------------------------------------------- */

int mpc_client_seterr(mpc_client *c, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->errmsg, sizeof c->errmsg, fmt, ap);
    va_end(ap);
    for (char *p = c->errmsg; *p; p++)
        if (*p == '\n' || *p == '\r') *p = ' ';
    return code;
}

int mpc_client_interrupted(const mpc_client *c)
{
    return c->intr && *c->intr;
}

void mpc_client_set_interrupt(mpc_client *c, const volatile sig_atomic_t *flag)
{
    c->intr = flag;
}

const char *mpc_client_dname(const mpc_client *c, uint32_t d)
{
    return c->cfg.daemons[d].name;
}

void mpc_client_free(void *p)
{
    if (!p) return;
    /* Everything the SDK hands out is allocated with a size header so it can be wiped. */
    size_t *h = (size_t *)p - 2;
    sodium_memzero(p, h[0]);
    free(h);
}

/* malloc with a hidden size header, for mpc_client_free (client_int.h). */
void *mpc_client_alloc(size_t n)
{
    if (n > SIZE_MAX - 2 * sizeof(size_t)) return NULL;
    size_t *h = malloc(2 * sizeof(size_t) + n);
    if (!h) return NULL;
    h[0] = n;
    h[1] = 0;
    return h + 2;
}

void mpc_client_alloc_used(void *p, size_t used)
{
    size_t *h = (size_t *)p - 2;
    if (used < h[0]) h[0] = used;
}

/* --------------------------------------------------------------------------------------- */

static int s_sockopt_int(void *s, int opt, int v)
{
    return zmq_setsockopt(s, opt, &v, sizeof v);
}

/* Reads pending monitor events of daemon d (non-blocking) into the connection flags. */
static void s_poll_monitor(mpc_client *c, uint32_t d)
{
    if (!c->mon[d]) return;
    for (;;) {
        zmq_msg_t ev, addr;
        zmq_msg_init(&ev);
        if (zmq_msg_recv(&ev, c->mon[d], ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&ev);
            return;
        }
        uint16_t event = 0;
        if (zmq_msg_size(&ev) >= 2) memcpy(&event, zmq_msg_data(&ev), 2);
        int more = zmq_msg_more(&ev);
        zmq_msg_close(&ev);
        if (more) {
            zmq_msg_init(&addr);
            zmq_msg_recv(&addr, c->mon[d], 0);
            zmq_msg_close(&addr);
        }
        if (event == ZMQ_EVENT_CONNECTED) c->connected[d] = 1;
        if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) c->handshake_ok[d] = 1;
        if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) c->auth_failed[d] = 1;
    }
}

/* Why daemon d did not answer, as a phrase for a message. */
const char *mpc_client_why_silent(mpc_client *c, uint32_t d)
{
    s_poll_monitor(c, d);
    if (c->auth_failed[d]) return "the daemon refused this client's key (is it a [client] in the daemon's configuration?)";
    if (c->connected[d] && !c->handshake_ok[d])
        return "connected but the CURVE handshake never completed (the daemon is frozen or overloaded, or its "
               "public_key is wrong, or this client's key is not accepted)";
    if (!c->connected[d]) return "no connection (daemon down or wrong endpoint)";
    return "no reply";
}

int mpc_client_open(mpc_client **out, const char *config_path, char *err, size_t errlen)
{
    *out = NULL;
    if (sodium_init() < 0) {
        snprintf(err, errlen, "libsodium failed to initialise");
        return MPC_ERR_CRYPTO;
    }
    mpc_client *c = calloc(1, sizeof *c);
    uint8_t *secret = sodium_malloc(MPC_CLIENT_KEY_BYTES);
    uint8_t pub[MPC_CLIENT_KEY_BYTES];
    int r = MPC_ERR_NOMEM;
    if (!c || !secret) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    r = mpc_client_conf_load(config_path, &c->cfg, err, errlen);
    if (r) goto out;
    r = mpc_client_conf_load_keys(&c->cfg, pub, secret, err, errlen);
    if (r) goto out;
    c->zctx = zmq_ctx_new();
    if (!c->zctx) {
        snprintf(err, errlen, "cannot create a ZeroMQ context: %s", zmq_strerror(errno));
        r = MPC_ERR_IO;
        goto out;
    }
    for (uint32_t d = 0; d < c->cfg.n_daemons; d++) {
        const mpc_client_daemon_conf *dc = &c->cfg.daemons[d];
        void *s = zmq_socket(c->zctx, ZMQ_DEALER);
        if (!s) goto zfail;
        c->sock[d] = s;
        int64_t maxmsg = c->cfg.max_message_bytes;
        if (s_sockopt_int(s, ZMQ_LINGER, 0) || s_sockopt_int(s, ZMQ_IMMEDIATE, 1) ||
            s_sockopt_int(s, ZMQ_HEARTBEAT_IVL, 1000) || s_sockopt_int(s, ZMQ_HEARTBEAT_TIMEOUT, 5000) ||
            zmq_setsockopt(s, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg) ||
            zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY, dc->public_key, MPC_CLIENT_KEY_BYTES) ||
            zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, pub, MPC_CLIENT_KEY_BYTES) ||
            zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, secret, MPC_CLIENT_KEY_BYTES))
            goto zfail;
        char mon_ep[64];
        snprintf(mon_ep, sizeof mon_ep, "inproc://mpcclient-mon-%p-%u", (void *)c, d);
        if (zmq_socket_monitor(s, mon_ep, ZMQ_EVENT_CONNECTED | ZMQ_EVENT_HANDSHAKE_SUCCEEDED |
                                              ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) == 0) {
            c->mon[d] = zmq_socket(c->zctx, ZMQ_PAIR);
            if (c->mon[d] && (s_sockopt_int(c->mon[d], ZMQ_LINGER, 0) || zmq_connect(c->mon[d], mon_ep))) {
                zmq_close(c->mon[d]);
                c->mon[d] = NULL;
            }
        }
        if (zmq_connect(s, dc->endpoint) != 0) {
            snprintf(err, errlen, "%s:%u: error: daemon %s: cannot use endpoint '%s': %s", c->cfg.path, dc->line,
                     dc->name, dc->endpoint, zmq_strerror(errno));
            r = MPC_ERR_CONFIG;
            goto out;
        }
    }
    randombytes_buf(&c->next_rid, sizeof c->next_rid);
    c->progress_ms = 1000;
    r = 0;
    goto out;
zfail:
    snprintf(err, errlen, "cannot set up the ZeroMQ sockets: %s", zmq_strerror(errno));
    r = MPC_ERR_IO;
out:
    sodium_free(secret);   /* the sockets hold their copy; ours is wiped now */
    sodium_memzero(pub, sizeof pub);
    if (r) mpc_client_close(&c);
    *out = c;
    return r;
}

static void s_clear_warnings(mpc_client *c);

void mpc_client_close(mpc_client **cp)
{
    if (!cp || !*cp) return;
    mpc_client *c = *cp;
    for (uint32_t d = 0; d < MPC_MAX_PARTIES; d++) {
        if (c->sock[d]) zmq_socket_monitor(c->sock[d], NULL, 0);
        if (c->mon[d]) zmq_close(c->mon[d]);
        if (c->sock[d]) zmq_close(c->sock[d]);
    }
    if (c->zctx) zmq_ctx_term(c->zctx);
    s_clear_warnings(c);
    sodium_memzero(c, sizeof *c);
    free(c);
    *cp = NULL;
}

const char *mpc_client_errmsg(const mpc_client *c)
{
    return c ? c->errmsg : "no client";
}

size_t mpc_client_n_daemons(const mpc_client *c)
{
    return c->cfg.n_daemons;
}

const char *mpc_client_daemon_name(const mpc_client *c, size_t i)
{
    return i < c->cfg.n_daemons ? c->cfg.daemons[i].name : NULL;
}

void mpc_client_set_progress(mpc_client *c, mpc_progress_fn fn, void *ctx, int interval_ms)
{
    c->progress = fn;
    c->progress_ctx = ctx;
    c->progress_ms = interval_ms < 100 ? 100 : interval_ms;
}

/* --------------------------------------------------------------------------------------- *
 * Request / reply */

static void s_free_secret(void *data, void *hint)
{
    (void)hint;
    sodium_free(data);
}

/* Sends request q to daemon d.  `payload` (if not NULL) is sodium_malloc memory of
 * payload_len bytes whose ownership moves to ZeroMQ, which wipes and frees it once sent
 * (or here on failure). */
int mpc_client_send_req(mpc_client *c, uint32_t d, const mpc_cwire_req *q, void *payload, size_t payload_len,
                  int64_t deadline, const char *job_hex)
{
    uint8_t *hdr = NULL;
    size_t len = 0;
    int r = mpc_cwire_req_encode(q, &hdr, &len);
    if (r) {
        if (payload) sodium_free(payload);
        return s_seterr(c, r, "daemon %s: job %s: cannot encode the request", mpc_client_dname(c, d), job_hex);
    }
    /* with ZMQ_IMMEDIATE a send waits for a finished connection: bounded by the call's
     * deadline, so several unreachable daemons cost one timeout, not one each */
    int64_t left = deadline - (int64_t)mpc_now_ms();
    s_sockopt_int(c->sock[d], ZMQ_SNDTIMEO, (int)(left < 0 ? 0 : left > INT32_MAX ? INT32_MAX : left));
    int rc;
    while ((rc = zmq_send(c->sock[d], hdr, len, payload ? ZMQ_SNDMORE : 0)) < 0 && errno == EINTR && !mpc_client_interrupted(c)) {
    }
    free(hdr);
    if (rc < 0) {
        int e = errno;
        if (payload) sodium_free(payload);
        if (e == EINTR)
            return s_seterr(c, MPC_ERR_CANCELLED, "daemon %s: job %s: interrupted", mpc_client_dname(c, d), job_hex);
        if (e == EAGAIN)
            return s_seterr(c, MPC_ERR_IO, "daemon %s: job %s: unreachable within %lld ms: %s", mpc_client_dname(c, d), job_hex,
                            (long long)c->cfg.timeout_ms, mpc_client_why_silent(c, d));
        return s_seterr(c, MPC_ERR_IO, "daemon %s: job %s: send failed: %s", mpc_client_dname(c, d), job_hex, zmq_strerror(e));
    }
    if (payload) {
        zmq_msg_t m;
        if (zmq_msg_init_data(&m, payload, payload_len, s_free_secret, NULL) != 0) {
            sodium_free(payload);
            return s_seterr(c, MPC_ERR_NOMEM, "daemon %s: job %s: out of memory", mpc_client_dname(c, d), job_hex);
        }
        if (zmq_msg_send(&m, c->sock[d], 0) < 0) {
            int e = errno;
            zmq_msg_close(&m);
            return s_seterr(c, MPC_ERR_IO, "daemon %s: job %s: send failed: %s", mpc_client_dname(c, d), job_hex, zmq_strerror(e));
        }
    }
    return 0;
}

/* Receives the reply to request (rid, type) from daemon d until deadline (monotonic ms).
 * Stale replies to earlier requests (other rid) are dropped.  A RESULT share (ready reply)
 * must have share->n elements and is written to share->w, grown to fit it; the received
 * frame is wiped.  An ERROR reply becomes its code with "daemon X: job Y: message". */
int mpc_client_recv_rep(mpc_client *c, uint32_t d, uint64_t rid, uint8_t type, int64_t deadline, mpc_cwire_rep *rep,
                        mpc_share_buf *share, const char *job_hex)
{
    for (;;) {
        int64_t left = deadline - (int64_t)mpc_now_ms();
        if (left <= 0) left = 0;
        s_sockopt_int(c->sock[d], ZMQ_RCVTIMEO, (int)(left > INT32_MAX ? INT32_MAX : left));
        zmq_msg_t frames[2];
        size_t nf = 0, extra = 0;
        zmq_msg_init(&frames[0]);
        if (zmq_msg_recv(&frames[0], c->sock[d], 0) < 0) {
            int e = errno;
            zmq_msg_close(&frames[0]);
            /* a signal: give up if the application asked to be interrupted, else go on */
            if (e == EINTR && mpc_client_interrupted(c))
                return s_seterr(c, MPC_ERR_CANCELLED, "daemon %s: job %s: interrupted", mpc_client_dname(c, d), job_hex);
            if (e == EINTR) continue;
            if (e == EAGAIN)
                return s_seterr(c, MPC_ERR_TIMEOUT, "daemon %s: job %s: no reply within the deadline: %s", mpc_client_dname(c, d),
                                job_hex, mpc_client_why_silent(c, d));
            return s_seterr(c, MPC_ERR_IO, "daemon %s: job %s: receive failed: %s", mpc_client_dname(c, d), job_hex, zmq_strerror(e));
        }
        nf = 1;
        int more = zmq_msg_more(&frames[0]);
        while (more) {
            /* the rest of a message arrives at once with the first frame */
            zmq_msg_t m;
            zmq_msg_init(&m);
            if (zmq_msg_recv(&m, c->sock[d], 0) < 0) {
                zmq_msg_close(&m);
                break;
            }
            more = zmq_msg_more(&m);
            if (nf < 2) {
                frames[nf++] = m;
            } else {
                sodium_memzero(zmq_msg_data(&m), zmq_msg_size(&m));
                zmq_msg_close(&m);
                extra++;
            }
        }
        char derr[200];
        int r = mpc_cwire_rep_decode(zmq_msg_data(&frames[0]), zmq_msg_size(&frames[0]), nf - 1 + extra,
                                     nf > 1 ? zmq_msg_size(&frames[1]) : 0, rep, derr, sizeof derr);
        if (r == 0 && rep->rid != rid) {
            /* a late answer to a request we gave up on */
            for (size_t i = 0; i < nf; i++) {
                sodium_memzero(zmq_msg_data(&frames[i]), zmq_msg_size(&frames[i]));
                zmq_msg_close(&frames[i]);
            }
            continue;
        }
        if (r == 0 && rep->type != (type | 0x80) && rep->type != MPC_CW_ERROR) {
            r = MPC_ERR_PROTOCOL;
            snprintf(derr, sizeof derr, "reply of type 0x%02x to a request of type %u", rep->type, type);
        }
        if (r == 0 && (rep->type == MPC_CW_RESULT_OK || rep->type == MPC_CW_MASK_OK) && rep->ready) {
            size_t len = mpc_cwire_rep_payload_len(rep);   /* checked outputs and MASK: a record (vcheck.h) */
            if (!share || rep->count != share->n) {
                r = MPC_ERR_PROTOCOL;
                snprintf(derr, sizeof derr, "share of %llu elements, the output has %llu",
                         (unsigned long long)rep->count, (unsigned long long)(share ? share->n : 0));
            } else if (len > share->cap * 8) {
                uint64_t *w = sodium_allocarray(len / 8, 8);
                if (w) {
                    if (share->w) sodium_free(share->w);
                    share->w = w;
                    share->cap = len / 8;
                } else {
                    r = MPC_ERR_NOMEM;
                    snprintf(derr, sizeof derr, "out of memory for a share of %llu elements",
                             (unsigned long long)rep->count);
                }
            }
            if (r == 0 && share && len) memcpy(share->w, zmq_msg_data(&frames[1]), len);
        }
        for (size_t i = 0; i < nf; i++) {
            sodium_memzero(zmq_msg_data(&frames[i]), zmq_msg_size(&frames[i]));
            zmq_msg_close(&frames[i]);
        }
        if (r) return s_seterr(c, r == MPC_ERR_NOMEM ? r : MPC_ERR_PROTOCOL, "daemon %s: job %s: bad reply: %s",
                               mpc_client_dname(c, d), job_hex, derr);
        if (rep->type == MPC_CW_ERROR) {
            /* mpcd's messages already name the party and the job ("party a, job …: cause"). */
            if (!strncmp(rep->msg, "party ", 6)) return s_seterr(c, rep->code, "%s", rep->msg);
            return s_seterr(c, rep->code, "daemon %s: job %s: %s", mpc_client_dname(c, d), job_hex, rep->msg);
        }
        return 0;
    }
}

void mpc_client_req_init(mpc_client *c, mpc_cwire_req *q, uint8_t type, const uint8_t *job)
{
    memset(q, 0, sizeof *q);
    q->type = type;
    q->rid = c->next_rid++;
    if (job) memcpy(q->job, job, MPC_CWIRE_JOB_BYTES);
}

/* --------------------------------------------------------------------------------------- *
 * Jobs: the handle and what it describes */

/* Wipes and releases n bytes of secret values held in sodium_malloc memory (sodium_free
 * wipes too; the explicit wipe keeps the rule visible where secrets are dropped). */
static void s_release_secret(void *p, size_t n)
{
    if (!p) return;
    sodium_memzero(p, n);
    sodium_free(p);
}

/* Drops every staged input, wiping it. */
static void s_unstage_all(mpc_job *j)
{
    if (!j->staged) return;
    for (uint32_t i = 0; i < j->n_decl; i++) {
        s_release_secret(j->staged[i], (size_t)j->decl[i].len * 8);
        j->staged[i] = NULL;
    }
}

void mpc_job_free(mpc_job **jp)
{
    if (!jp || !*jp) return;
    mpc_job *j = *jp;
    if (j->circ) s_unstage_all(j);
    mpc_job_keys_free(j);
    free(j->staged);
    free(j->decl);
    free(j->circ_bytes);
    free(j->src);
    for (uint32_t o = 0; j->circ && o < j->circ->n_outputs; o++) {
        if (j->withheld_note) free(j->withheld_note[o]);
        if (j->withheld_bits) free(j->withheld_bits[o]);
    }
    free(j->withheld_note);
    free(j->withheld_bits);
    free(j->from_dataset);
    mpc_circ_destroy(&j->circ);
    free(j);
    *jp = NULL;
}

int mpc_job_is_live(const mpc_job *j) { return j->live; }
const char *mpc_job_id(const mpc_job *j) { return j->id_hex; }
const char *mpc_job_hash(const mpc_job *j) { return j->hash_hex; }
size_t mpc_job_n_parties(const mpc_job *j) { return j->k; }
const char *mpc_job_party(const mpc_job *j, size_t i) { return i < j->k ? j->circ->party_names[i] : NULL; }
size_t mpc_job_n_inputs(const mpc_job *j) { return j->n_decl; }
size_t mpc_job_n_outputs(const mpc_job *j) { return j->circ->n_outputs; }
unsigned mpc_job_frac_bits(const mpc_job *j) { return j->circ->frac_bits; }

const char *mpc_client_type_name(uint8_t t)
{
    return t < MPC_T__COUNT ? mpc_type_names[t] : "?";
}

const char *mpc_job_input_name(const mpc_job *j, size_t i)
{
    return i < j->n_decl ? j->decl[i].name : NULL;
}
const char *mpc_job_input_party(const mpc_job *j, size_t i)
{
    return i < j->n_decl ? j->circ->party_names[j->decl[i].party] : NULL;
}
const char *mpc_job_input_type(const mpc_job *j, size_t i)
{
    return i < j->n_decl ? mpc_client_type_name(j->decl[i].type) : NULL;
}
uint64_t mpc_job_input_len(const mpc_job *j, size_t i)
{
    return i < j->n_decl ? j->decl[i].len : 0;
}
int mpc_job_input_staged(const mpc_job *j, size_t i)
{
    return i < j->n_decl && j->staged[i] != NULL;
}
const char *mpc_job_output_name(const mpc_job *j, size_t i)
{
    return i < j->circ->n_outputs ? j->circ->outputs[i].name : NULL;
}
const char *mpc_job_output_type(const mpc_job *j, size_t i)
{
    return i < j->circ->n_outputs ? mpc_client_type_name(j->circ->outputs[i].type) : NULL;
}
uint64_t mpc_job_output_len(const mpc_job *j, size_t i)
{
    return i < j->circ->n_outputs ? j->circ->outputs[i].len : 0;
}

const char *mpc_job_party_daemon(const mpc_job *j, size_t i)
{
    return i < j->k ? j->daemon_names[i] : NULL;
}

/* The job becomes live under id j->id (messages now name it), or staged again. */
static void s_set_live(mpc_job *j, int live)
{
    j->live = live;
    if (live) {
        mpc_cwire_job_hex(j->id, j->id_hex);
        snprintf(j->where, sizeof j->where, "job %s: ", j->id_hex);
    } else {
        memset(j->id, 0, sizeof j->id);
        j->id_hex[0] = 0;
        j->where[0] = 0;
    }
}

/* Records the daemons' names once daemon_of is final; sets q's binding if q is given. */
static void s_fill_binding(const mpc_client *c, mpc_job *j, mpc_cwire_req *q)
{
    for (uint32_t i = 0; i < j->k; i++) strcpy(j->daemon_names[i], c->cfg.daemons[j->daemon_of[i]].name);
    if (!q) return;
    q->n_bind = j->k;
    for (uint32_t i = 0; i < j->k; i++) strcpy(q->bind[i], j->daemon_names[i]);
}

/* --------------------------------------------------------------------------------------- *
 * Jobs: creating (staged) */

/* A staged job for the validated circuit `circ` whose .circ bytes are bytes[0..len-1]; takes
 * both (also on failure).  Computes the hash and the default binding. */
static int s_job_new(mpc_client *c, mpc_circuit *circ, uint8_t *bytes, size_t len, mpc_job **out)
{
    *out = NULL;
    mpc_job *j = calloc(1, sizeof *j);
    if (!j) {
        mpc_circ_destroy(&circ);
        free(bytes);
        return s_seterr(c, MPC_ERR_NOMEM, "out of memory");
    }
    j->circ = circ;
    j->circ_bytes = bytes;
    j->circ_len = len;
    if (mpc_circ_declared_inputs(circ, &j->decl, &j->n_decl) != 0) {
        mpc_job_free(&j);
        return s_seterr(c, MPC_ERR_NOMEM, "out of memory");
    }
    j->staged = calloc(j->n_decl ? j->n_decl : 1, sizeof *j->staged);
    if (!j->staged) {
        mpc_job_free(&j);
        return s_seterr(c, MPC_ERR_NOMEM, "out of memory");
    }
    if (mpc_circ_hash(j->circ, j->hash) != 0) {
        mpc_job_free(&j);
        return s_seterr(c, MPC_ERR_NOMEM, "cannot hash the circuit");
    }
    mpc_hash_hex(j->hash, j->hash_hex);
    j->k = j->circ->n_parties;
    if (j->k < 2 || j->k > c->cfg.n_daemons) {
        int code = MPC_ERR_CIRCUIT;
        s_seterr(c, code, "the program has %u parties but the configuration %s lists %u daemons", j->k, c->cfg.path,
                 c->cfg.n_daemons);
        mpc_job_free(&j);
        return code;
    }
    for (uint32_t i = 0; i < j->k; i++) j->daemon_of[i] = i;
    s_fill_binding(c, j, NULL);
    *out = j;
    return 0;
}

/* Parses .circ bytes (taken, also on failure) into a staged job. */
static int s_job_from_bytes(mpc_client *c, uint8_t *bytes, size_t len, mpc_job **out)
{
    char err[300];
    mpc_circuit *cc = NULL;
    if (mpc_circ_read(bytes, len, NULL, &cc, err, sizeof err) != 0) {
        free(bytes);
        return s_seterr(c, MPC_ERR_CIRCUIT, "invalid circuit: %s", err);
    }
    int r = s_job_new(c, cc, bytes, len, out);
    if (!r && (r = mpc_job_mark_datasets(c, *out)) != 0) mpc_job_free(out);
    return r;
}

int mpc_job_create(mpc_client *c, const uint8_t *circ, size_t len, mpc_job **out)
{
    *out = NULL;
    c->errmsg[0] = 0;
    if (!circ || len == 0) return s_seterr(c, MPC_ERR_INVALID, "no circuit given");
    uint8_t *copy = malloc(len);
    if (!copy) return s_seterr(c, MPC_ERR_NOMEM, "out of memory");
    memcpy(copy, circ, len);
    return s_job_from_bytes(c, copy, len, out);
}

static void s_clear_warnings(mpc_client *c)
{
    free(c->warn);
    c->warn = NULL;
    c->n_warn = 0;
}

/* Keeps the compiler's warnings on the client, one formatted line each.  Every warning the
 * compiler records through mpc_diag_warning arrives here, whatever its kind. */
static void s_keep_warnings(mpc_client *c, const mpc_diag *d)
{
    size_t n = 0;
    for (size_t i = 0; i < d->n_items; i++) n += d->items[i].severity == MPC_DIAG_WARNING;
    if (!n) return;
    c->warn = malloc(n * sizeof *c->warn);
    if (!c->warn) return;
    for (size_t i = 0; i < d->n_items; i++) {
        if (d->items[i].severity != MPC_DIAG_WARNING) continue;
        mpc_diag_format(d, &d->items[i], c->warn[c->n_warn], sizeof c->warn[0]);
        for (char *p = c->warn[c->n_warn]; *p; p++)
            if (*p == '\n' || *p == '\r') *p = ' ';
        c->n_warn++;
    }
}

size_t mpc_client_n_warnings(const mpc_client *c) { return c->n_warn; }
const char *mpc_client_warning(const mpc_client *c, size_t i) { return i < c->n_warn ? c->warn[i] : NULL; }

static int s_compile(const char *src, size_t len, const char *filename, const char *const *defines, size_t n_defines,
                     unsigned cflags, mpc_circuit **out, mpc_diag *diag, char *err, size_t errlen);

int mpc_job_create_source(mpc_client *c, const char *src, size_t len, const char *filename,
                          const char *const *defines, size_t n_defines, unsigned flags, mpc_job **out)
{
    *out = NULL;
    c->errmsg[0] = 0;
    s_clear_warnings(c);
    if (!src || !filename || (flags & ~(MPC_JOB_STRICT | MPC_JOB_NO_PUSHDOWN)))
        return s_seterr(c, MPC_ERR_INVALID, "invalid arguments");
    mpc_circuit *cc = NULL;
    mpc_diag diag;
    char err[S_ERRMSG_MAX];
    int r = s_compile(src, len, filename, defines, n_defines, (flags & MPC_JOB_NO_PUSHDOWN) ? 0 : MPC_COMPILE_PUSHDOWN,
                      &cc, &diag, err, sizeof err);
    s_keep_warnings(c, &diag);
    size_t n_warnings = diag.n_warnings;
    mpc_diag_free(&diag);
    if (r) return s_seterr(c, r, "%s", err);
    if ((flags & MPC_JOB_STRICT) && n_warnings) {
        mpc_circ_destroy(&cc);
        return s_seterr(c, MPC_ERR_CIRCUIT, "%s (%zu warning%s; refused as strict)",
                        c->n_warn ? c->warn[0] : filename, n_warnings, n_warnings == 1 ? "" : "s");
    }
    uint8_t *bytes = NULL;
    size_t blen = 0;
    if (mpc_circ_write(cc, &bytes, &blen) != 0) {
        mpc_circ_destroy(&cc);
        return s_seterr(c, MPC_ERR_NOMEM, "out of memory");
    }
    int jr = s_job_new(c, cc, bytes, blen, out);
    if (!jr && ((*out)->src = malloc(len + 1)) != NULL) {   /* for table defaults (csv.c) */
        memcpy((*out)->src, src, len);
        (*out)->src_len = len;
    }
    if (!jr && (jr = mpc_job_mark_datasets(c, *out)) != 0) mpc_job_free(out);
    return jr;
}

/* The whole file into a new malloc'ed buffer (NUL-terminated, not counted in *len). */
static int s_read_file(mpc_client *c, const char *path, uint8_t **buf, size_t *len)
{
    *buf = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return s_seterr(c, MPC_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    size_t cap = 1 << 16, n = 0;
    uint8_t *b = malloc(cap + 1);
    int r = MPC_ERR_NOMEM;
    while (b) {
        n += fread(b + n, 1, cap - n, f);
        if (n < cap) break;
        if (cap > ((size_t)1 << 34)) {
            r = MPC_ERR_LIMIT;
            break;
        }
        cap *= 2;
        uint8_t *nb = realloc(b, cap + 1);
        if (!nb) break;
        b = nb;
    }
    if (b && n < cap && !ferror(f)) {
        fclose(f);
        b[n] = 0;
        *buf = b;
        *len = n;
        return 0;
    }
    if (b && n < cap) r = MPC_ERR_IO;
    fclose(f);
    free(b);
    return s_seterr(c, r, "%s: %s", path, r == MPC_ERR_LIMIT ? "file too large" : r == MPC_ERR_IO ? "read error"
                                                                                                 : "out of memory");
}

int mpc_job_create_file(mpc_client *c, const char *path, const char *const *defines, size_t n_defines,
                        unsigned flags, mpc_job **out)
{
    *out = NULL;
    c->errmsg[0] = 0;
    s_clear_warnings(c);
    if (!path) return s_seterr(c, MPC_ERR_INVALID, "no program given");
    size_t pl = strlen(path);
    int is_circ = pl >= 5 && !strcmp(path + pl - 5, ".circ");
    if (is_circ && n_defines)
        return s_seterr(c, MPC_ERR_INVALID, "-D applies to a source, not to the compiled %s", path);
    uint8_t *buf = NULL;
    size_t len = 0;
    int r = s_read_file(c, path, &buf, &len);
    if (r) return r;
    if (is_circ) {
        if (len == 0) {
            free(buf);
            return s_seterr(c, MPC_ERR_CIRCUIT, "%s: empty file", path);
        }
        if ((r = s_job_from_bytes(c, buf, len, out)) != 0) return r;
        if ((flags & MPC_JOB_NO_PUSHDOWN) && (*out)->circ->n_locals) {
            mpc_job_free(out);
            return s_seterr(c, MPC_ERR_CIRCUIT, "%s was compiled with owner-local pushdown; recompile it with "
                            "mpcc --no-pushdown", path);
        }
        char why[256];
        if ((flags & MPC_JOB_STRICT) && mpc_circ_strict_check((*out)->circ, why, sizeof why) != 0) {
            mpc_job_free(out);
            return s_seterr(c, MPC_ERR_CIRCUIT, "%s: refused as strict: %s", path, why);
        }
        return 0;
    }
    r = mpc_job_create_source(c, (const char *)buf, len, path, defines, n_defines, flags, out);
    free(buf);
    return r;
}

/* Binds program parties to daemons into daemon_of[0..k-1]: NULL/"" -> i-th to i-th; else
 * "p=d,p=d". */
static int s_bind(mpc_client *c, const mpc_job *j, const char *binding, uint32_t *daemon_of)
{
    if (!binding || !binding[0]) {
        for (uint32_t i = 0; i < j->k; i++) daemon_of[i] = i;
        return 0;
    }
    int set[MPC_MAX_PARTIES] = {0};
    char buf[2048];
    if (strlen(binding) >= sizeof buf) return s_seterr(c, MPC_ERR_INVALID, "binding too long");
    strcpy(buf, binding);
    char *save = NULL;
    for (char *item = strtok_r(buf, ", ", &save); item; item = strtok_r(NULL, ", ", &save)) {
        char *eq = strchr(item, '=');
        if (!eq) return s_seterr(c, MPC_ERR_INVALID, "binding '%.80s': expected party=daemon", item);
        *eq = 0;
        const char *party = item, *daemon = eq + 1;
        int p = -1;
        for (uint32_t i = 0; i < j->k; i++)
            if (!strcmp(j->circ->party_names[i], party)) p = (int)i;
        if (p < 0) return s_seterr(c, MPC_ERR_INVALID, "binding: the program has no party '%.64s'", party);
        int d = mpc_client_conf_daemon(&c->cfg, daemon);
        if (d < 0) return s_seterr(c, MPC_ERR_INVALID, "binding: no daemon '%.64s' in %s", daemon, c->cfg.path);
        if (set[p]) return s_seterr(c, MPC_ERR_INVALID, "binding: party '%s' is bound twice", party);
        for (uint32_t i = 0; i < j->k; i++)
            if (set[i] && daemon_of[i] == (uint32_t)d)
                return s_seterr(c, MPC_ERR_INVALID, "binding: daemon '%s' is bound to two parties", daemon);
        set[p] = 1;
        daemon_of[p] = (uint32_t)d;
    }
    for (uint32_t i = 0; i < j->k; i++)
        if (!set[i]) return s_seterr(c, MPC_ERR_INVALID, "binding: party '%s' is not bound", j->circ->party_names[i]);
    return 0;
}

int mpc_job_set_binding(mpc_client *c, mpc_job *j, const char *binding)
{
    c->errmsg[0] = 0;
    if (j->live) return s_seterr(c, MPC_ERR_STATE, "%sthe binding of a live job is fixed", j->where);
    uint32_t daemon_of[MPC_MAX_PARTIES];
    int r = s_bind(c, j, binding, daemon_of);
    if (r) return r;
    memcpy(j->daemon_of, daemon_of, sizeof daemon_of);
    j->bound = binding && binding[0];
    s_fill_binding(c, j, NULL);
    return 0;
}

/* --------------------------------------------------------------------------------------- *
 * Jobs: inputs */

static int s_find_input(const mpc_job *j, const char *name)
{
    for (uint32_t i = 0; i < j->n_decl; i++)
        if (!strcmp(j->decl[i].name, name)) return (int)i;
    return -1;
}

int mpc_job_find_output(const mpc_job *j, const char *name)
{
    for (uint32_t i = 0; i < j->circ->n_outputs; i++)
        if (!strcmp(j->circ->outputs[i].name, name)) return (int)i;
    return -1;
}

/* "the program has no input 'q' (its inputs: x, y)" */
static int s_no_input(mpc_client *c, const mpc_job *j, const char *name)
{
    char list[320];
    size_t off = 0;
    list[0] = 0;
    for (uint32_t i = 0; i < j->n_decl; i++) {
        const char *nm = j->decl[i].name;
        if (off + strlen(nm) + 8 >= sizeof list) {
            memcpy(list + off, ", \xe2\x80\xa6", 6);   /* ", …" */
            break;
        }
        off += (size_t)sprintf(list + off, "%s%s", i ? ", " : "", nm);
    }
    return s_seterr(c, MPC_ERR_NOTFOUND, "%sthe program has no input '%.64s' (its inputs: %s)", j->where,
                    name ? name : "", j->n_decl ? list : "none");
}

/* The values fit input idx: its length, and 0/1 for a bool.  Never names a value. */
static int s_check_values(mpc_client *c, const mpc_job *j, uint32_t idx, const uint64_t *values, uint64_t n)
{
    const mpc_input *in = &j->decl[idx];
    if (j->from_dataset && j->from_dataset[idx])
        return s_seterr(c, MPC_ERR_INPUT, "%sinput '%s' is %s by the daemons; it is not given", j->where, in->name,
                        mpc_contrib_input_of(in->name) ? "summed from contributions (mpc contribute)"
                                                       : "read from a stored dataset");
    if (n != in->len)
        return s_seterr(c, MPC_ERR_INPUT, "%sinput '%s' takes %llu value%s, %llu given", j->where, in->name,
                        (unsigned long long)in->len, in->len == 1 ? "" : "s", (unsigned long long)n);
    if (!values) return s_seterr(c, MPC_ERR_INVALID, "%sinput '%s': no values", j->where, in->name);
    if (in->type == MPC_T_BOOL)
        for (uint64_t i = 0; i < n; i++)
            if (values[i] > 1)
                return s_seterr(c, MPC_ERR_INPUT, "%sinput '%s' is bool: element %llu is neither 0 nor 1", j->where,
                                in->name, (unsigned long long)i);
    return 0;
}

/* Shares values[0..len-1] of input idx for the live job's daemons and sends them, without
 * waiting for the replies: *rid is the request's id, to collect them (s_share_acks). */
static int s_share_post(mpc_client *c, mpc_job *j, uint32_t idx, const uint64_t *values, uint64_t *rid)
{
    const char *name = j->circ->inputs[idx].name;
    uint64_t n = j->circ->inputs[idx].len;
    uint32_t k = j->k;
    uint8_t *seeds = sodium_malloc((size_t)(k - 1) * MPC_CWIRE_SEED_BYTES);
    uint64_t *explicit_share = sodium_allocarray((size_t)n, 8);
    int r;
    if (!seeds || !explicit_share) {
        r = s_seterr(c, MPC_ERR_NOMEM, "job %s: out of memory sharing input '%s'", j->id_hex, name);
        goto out;
    }
    r = mpc_cwire_share(seeds, explicit_share, values, n, k, idx);
    if (r) {
        s_seterr(c, r, "job %s: cannot share input '%s'", j->id_hex, name);
        goto out;
    }
    mpc_cwire_req q;
    mpc_client_req_init(c, &q, MPC_CW_INPUT, j->id);
    strcpy(q.name, name);
    q.count = n;
    *rid = q.rid;
    int64_t deadline = (int64_t)mpc_now_ms() + c->cfg.timeout_ms;
    for (uint32_t p = 0; p < k; p++) {
        uint32_t d = j->daemon_of[p];
        void *payload;
        size_t plen;
        if (p + 1 < k) {
            q.mode = MPC_CW_SEED;
            payload = sodium_malloc(MPC_CWIRE_SEED_BYTES);
            if (!payload) {
                r = s_seterr(c, MPC_ERR_NOMEM, "job %s: out of memory", j->id_hex);
                goto out;
            }
            memcpy(payload, seeds + (size_t)p * MPC_CWIRE_SEED_BYTES, MPC_CWIRE_SEED_BYTES);
            plen = MPC_CWIRE_SEED_BYTES;
        } else {
            q.mode = MPC_CW_EXPLICIT;
            payload = explicit_share;   /* ownership moves to ZeroMQ */
            explicit_share = NULL;
            plen = (size_t)n * 8;
        }
        r = mpc_client_send_req(c, d, &q, payload, plen, deadline, j->id_hex);
        if (r) goto out;
    }
out:
    if (seeds) sodium_free(seeds);
    if (explicit_share) sodium_free(explicit_share);
    return r;
}

/* Every daemon's reply to the INPUT request rid: 0, or the first failure with its message. */
static int s_share_acks(mpc_client *c, mpc_job *j, uint64_t rid)
{
    int64_t deadline = (int64_t)mpc_now_ms() + c->cfg.timeout_ms;
    for (uint32_t p = 0; p < j->k; p++) {
        mpc_cwire_rep rep;
        int r = mpc_client_recv_rep(c, j->daemon_of[p], rid, MPC_CW_INPUT, deadline, &rep, NULL, j->id_hex);
        if (r) return r;
    }
    return 0;
}

/* Inputs whose shares are in flight at once (sent, replies not yet taken), and their bytes:
 * a daemon stores one while the next is shared and sent, and the client holds at most this
 * much beyond its staged values. */
#define S_INPUTS_AHEAD       8
#define S_INPUT_BYTES_AHEAD  (64u << 20)

/* Shares and sends the inputs i with vals[i] != NULL, up to S_INPUTS_AHEAD (and
 * S_INPUT_BYTES_AHEAD) ahead of their replies, which are taken oldest first (each daemon
 * answers a connection's requests in order).  After a failure nothing more is sent or waited
 * for (late replies are dropped by their request id): 0 or the first failure. */
static int s_share_all(mpc_client *c, mpc_job *j, uint64_t *const *vals)
{
    const mpc_circuit *cc = j->circ;
    uint64_t rid[S_INPUTS_AHEAD], bytes[S_INPUTS_AHEAD], ahead_bytes = 0;
    uint32_t head = 0, ahead = 0;
    int r = 0;
    for (uint32_t i = 0; !r && i < cc->n_inputs; i++) {
        if (!vals[i]) continue;
        uint64_t b = cc->inputs[i].len * 8;
        for (; !r && ahead && (ahead == S_INPUTS_AHEAD || ahead_bytes + b > S_INPUT_BYTES_AHEAD); ahead--) {
            r = s_share_acks(c, j, rid[head]);
            ahead_bytes -= bytes[head];
            head = (head + 1) % S_INPUTS_AHEAD;
        }
        uint32_t slot = (head + ahead) % S_INPUTS_AHEAD;
        if (r || (r = s_share_post(c, j, i, vals[i], &rid[slot])) != 0) break;
        bytes[slot] = b;
        ahead_bytes += b;
        ahead++;
    }
    for (; !r && ahead; ahead--) {
        r = s_share_acks(c, j, rid[head]);
        head = (head + 1) % S_INPUTS_AHEAD;
    }
    return r;
}

static int s_send_staged(mpc_client *c, mpc_job *j);
static int s_check_together(mpc_client *c, const mpc_job *j);

/* Stages input idx with *vals_p (n values in sodium_allocarray memory; ownership moves here
 * whatever the result: freed, and so wiped, on failure) and, on a live job, shares it at
 * once. */
static int s_stage_owned(mpc_client *c, mpc_job *j, const char *name, uint32_t idx, uint64_t **vals_p, uint64_t n)
{
    uint64_t *vals = *vals_p;
    *vals_p = NULL;
    int r = s_check_values(c, j, idx, vals, n);
    if (!r && j->staged[idx]) r = s_seterr(c, MPC_ERR_STATE, "%sinput '%s' is already given", j->where, name);
    if (r) {
        if (vals) sodium_free(vals);
        return r;
    }
    j->staged[idx] = vals;
    if (!j->live) return 0;
    /* Live: shared at once, through the party's local part when it feeds one (which then
     * needs all its inputs in this one call: a local part with several inputs is given
     * staged, before submit or attach). */
    r = s_check_together(c, j);
    if (!r) r = s_send_staged(c, j);
    else s_unstage_all(j);
    return r;
}

int mpc_job_input(mpc_client *c, mpc_job *j, const char *name, const uint64_t *values, uint64_t n)
{
    c->errmsg[0] = 0;
    if (name && mpc_join_input_of(name))
        return s_seterr(c, MPC_ERR_INVALID, "%sinput '%s' is a join output: the daemons give it", j->where, name);
    int idx = name ? s_find_input(j, name) : -1;
    if (idx < 0) return s_no_input(c, j, name);
    int r = s_check_values(c, j, (uint32_t)idx, values, n);
    if (r) return r;
    if (j->staged[idx]) return s_seterr(c, MPC_ERR_STATE, "%sinput '%s' is already given", j->where, name);
    uint64_t *copy = sodium_allocarray((size_t)n, 8);
    if (!copy) return s_seterr(c, MPC_ERR_NOMEM, "out of memory staging input '%s'", name);
    memcpy(copy, values, (size_t)n * 8);
    return s_stage_owned(c, j, name, (uint32_t)idx, &copy, n);
}

/* The values are parsed straight into the staging memory: no malloc'ed array to fault in,
 * copy and wipe (docs/performance.md, "The client side of mpc run"). */
int mpc_job_input_text(mpc_client *c, mpc_job *j, const char *name, const char *spec)
{
    c->errmsg[0] = 0;
    int idx = name ? s_find_input(j, name) : -1;
    if (idx < 0) return s_no_input(c, j, name);
    if (!spec) return s_seterr(c, MPC_ERR_INVALID, "%sinput '%s': no values", j->where, name);
    if (mpc_join_input_of(name))
        return s_seterr(c, MPC_ERR_INVALID, "%sinput '%s' is a join output: the daemons give it", j->where, name);
    uint64_t len = j->decl[idx].len, n = 0;
    uint64_t *vals = sodium_allocarray((size_t)(len ? len : 1), 8);
    if (!vals) return s_seterr(c, MPC_ERR_NOMEM, "out of memory staging input '%s'", name);
    char err[300];
    if (mpc_values_load_into(j->decl[idx].type, j->circ->frac_bits, spec, vals, len, &n, err, sizeof err) != 0) {
        sodium_free(vals);
        return s_seterr(c, MPC_ERR_INPUT, "%sinput '%s' (%s): %s", j->where, name,
                        mpc_client_type_name(j->decl[idx].type), err);
    }
    return s_stage_owned(c, j, name, (uint32_t)idx, &vals, n);
}

/* Sends every staged input of the job that has just become live, wiping each after it is
 * shared.  A party's local part (pushdown.h) runs first, here in the clear on the staged
 * values, and its results are shared as the derived inputs instead.  After a failure the
 * rest are dropped too: the job is live, they cannot be staged again. */
static int s_send_staged(mpc_client *c, mpc_job *j)
{
    const mpc_circuit *cc = j->circ;
    uint64_t **vals = calloc(cc->n_inputs + 1, sizeof *vals);
    uint8_t *owned = calloc(cc->n_inputs + 1, 1);
    /* the key columns of the program's joins first, each to its own party's daemon only: a
     * refused one stops before any share leaves */
    int r = mpc_job_keys_send(c, j);
    mpc_job_keys_free(j);
    if (!r && (!vals || !owned)) r = s_seterr(c, MPC_ERR_NOMEM, "out of memory");
    for (uint32_t l = 0; !r && l < cc->n_locals; l++) {
        const mpc_circuit *lc = cc->locals[l];
        int all = 1;
        for (uint32_t i = 0; i < lc->n_inputs; i++) {
            int k = s_find_input(j, lc->inputs[i].name);
            all &= k >= 0 && j->staged[k] != NULL;
        }
        if (!all) continue;   /* s_check_together refused partial parts; none of it here */
        char err[512];
        if (mpc_pushdown_derive(cc, lc->inputs[0].party, j->decl, j->n_decl, (const uint64_t *const *)j->staged,
                                vals, owned, NULL, err, sizeof err) != 0)
            r = s_seterr(c, MPC_ERR_INPUT, "%s%s", j->where, err);
    }
    for (uint32_t i = 0; !r && i < cc->n_inputs; i++)
        if (!owned[i]) {   /* an input that is not derived: as staged */
            int k = mpc_circ_input_local(cc, i) ? -1 : s_find_input(j, cc->inputs[i].name);
            vals[i] = k >= 0 ? j->staged[k] : NULL;
        }
    if (!r && !j->malicious) r = s_share_all(c, j, vals);
    if (!r && j->malicious) r = mpc_job_auth_inputs(c, j, vals);   /* security = malicious: client_in.c */
    for (uint32_t i = 0; vals && owned && i < cc->n_inputs; i++)
        if (owned[i]) {   /* derived values are as secret as the inputs */
            sodium_memzero(vals[i], (size_t)cc->inputs[i].len * 8);
            free(vals[i]);
        }
    free(vals);
    free(owned);
    s_unstage_all(j);
    return r;
}

/* A party's local part needs all of its inputs from one client (the one computing it): some
 * of them staged and not all is refused, naming the inputs to give together. */
static int s_check_together(mpc_client *c, const mpc_job *j)
{
    for (uint32_t l = 0; l < j->circ->n_locals; l++) {
        const mpc_circuit *lc = j->circ->locals[l];
        uint32_t have = 0;
        for (uint32_t i = 0; i < lc->n_inputs; i++) {
            int k = s_find_input(j, lc->inputs[i].name);
            have += k >= 0 && j->staged[k] != NULL;
        }
        if (have == 0 || have == lc->n_inputs) continue;
        char list[400];
        size_t off = 0;
        list[0] = 0;
        for (uint32_t i = 0; i < lc->n_inputs && off < sizeof list; i++) {
            int w = snprintf(list + off, sizeof list - off, "%s'%s'", i ? ", " : "", lc->inputs[i].name);
            off = w < 0 ? sizeof list : off + (size_t)w;
        }
        return s_seterr(c, MPC_ERR_INPUT,
                        "%sinputs %s of party '%s' must be given together by one client: the program computes "
                        "with them alone, which that client does in the clear before sharing (owner-local "
                        "pushdown); give them all here, or compile and run with --no-pushdown",
                        j->where, list, j->circ->party_names[lc->inputs[0].party]);
    }
    return 0;
}

/* The last step of staging, before anything leaves this process: checks that the staged
 * inputs are what the caller promised (MPC_SUBMIT_ALL_INPUTS: every input of the program)
 * and that each owner-local part has all of its inputs or none (s_check_together); the local
 * parts then run in s_send_staged. */
static int s_stage_seal(mpc_client *c, mpc_job *j, unsigned flags)
{
    int r = s_check_together(c, j);
    if (r || !(flags & MPC_SUBMIT_ALL_INPUTS)) return r;
    char list[400];
    size_t off = 0, missing = 0;
    list[0] = 0;
    for (uint32_t i = 0; i < j->n_decl; i++) {
        if (j->staged[i] || (j->from_dataset && j->from_dataset[i])) continue;   /* the daemons read those */
        if (mpc_join_input_of(j->decl[i].name)) continue;   /* the joins give those */
        const mpc_input *in = &j->decl[i];
        if (off < sizeof list) {
            int w = snprintf(list + off, sizeof list - off, "%s'%s' (party %s)", missing ? ", " : "", in->name,
                             j->circ->party_names[in->party]);
            off = w < 0 ? sizeof list : off + (size_t)w;
        }
        missing++;
    }
    missing = mpc_job_keys_missing(j, list, sizeof list, &off, missing);
    if (!missing) return 0;
    return s_seterr(c, MPC_ERR_INPUT, "%s not given: %s", missing == 1 ? "input" : "inputs", list);
}

/* --------------------------------------------------------------------------------------- *
 * Jobs: submitting and attaching */

static void s_withdraw(mpc_client *c, const uint8_t *id, const char *id_hex, const int *accepted);

int mpc_job_submit(mpc_client *c, mpc_job *j, unsigned flags)
{
    c->errmsg[0] = 0;
    if (flags & ~MPC_SUBMIT_ALL_INPUTS) return s_seterr(c, MPC_ERR_INVALID, "submit: unknown flags");
    if (j->live) return s_seterr(c, MPC_ERR_STATE, "%sis already submitted", j->where);
    int r = s_stage_seal(c, j, flags);
    if (r) return r;
    r = mpc_cwire_job_new(j->id);
    if (r) return s_seterr(c, r, "cannot draw a job id");
    mpc_cwire_job_hex(j->id, j->id_hex);
    mpc_cwire_req q;
    mpc_client_req_init(c, &q, MPC_CW_SUBMIT, j->id);
    s_fill_binding(c, j, &q);
    q.circ = j->circ_bytes;
    q.circ_len = j->circ_len;
    q.collect_ms = j->collect_ms;
    q.collect_count = j->collect_count;
    /* To every configured daemon: those not bound only take part in ordering.  The bound
     * daemons must all accept it; a daemon not bound to the job that cannot be reached or
     * does not answer within S_UNBOUND_WAIT_MS is left out (it may be down: sequencing then
     * moves to another party, docs/daemon.md "Sequencer failover"), while one that answers
     * with a refusal or another hash still fails the submission. */
    int64_t deadline = (int64_t)mpc_now_ms() + c->cfg.timeout_ms;
    int sent[MPC_MAX_PARTIES] = {0}, accepted[MPC_MAX_PARTIES] = {0}, bound[MPC_MAX_PARTIES] = {0};
    for (uint32_t i = 0; i < j->k; i++) bound[j->daemon_of[i]] = 1;
    for (uint32_t d = 0; d < c->cfg.n_daemons && !r; d++) {
        if (!bound[d]) continue;
        r = mpc_client_send_req(c, d, &q, NULL, 0, deadline, j->id_hex);
        sent[d] = !r;
    }
    int64_t udl = (int64_t)mpc_now_ms() + S_UNBOUND_WAIT_MS;
    if (udl > deadline) udl = deadline;
    for (uint32_t d = 0; d < c->cfg.n_daemons && !r; d++) {
        if (bound[d]) continue;
        int rs = mpc_client_send_req(c, d, &q, NULL, 0, udl, j->id_hex);
        sent[d] = !rs;
        if (rs == MPC_ERR_CANCELLED) r = rs;   /* interrupted; unreachable: left out */
    }
    /* every reply is read, so that a refusal by one daemon can be withdrawn from the others */
    char first[S_ERRMSG_MAX] = "";
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1) {
            udl = (int64_t)mpc_now_ms() + S_UNBOUND_WAIT_MS;
            if (udl > deadline) udl = deadline;
        }
        for (uint32_t d = 0; d < c->cfg.n_daemons; d++) {
            if (!sent[d] || bound[d] != (pass == 0)) continue;
            mpc_cwire_rep rep;
            int rd = mpc_client_recv_rep(c, d, q.rid, MPC_CW_SUBMIT, pass ? udl : deadline, &rep, NULL, j->id_hex);
            if (!rd && bound[d]) mpc_job_note_security(j, d, rep.malicious);   /* inputs through MASK? (client_in.c) */
            if (!rd && sodium_memcmp(rep.hash, j->hash, MPC_HASH_BYTES) != 0) {
                char hex[2 * MPC_HASH_BYTES + 1];
                mpc_hash_hex(rep.hash, hex);
                rd = s_seterr(c, MPC_ERR_PROTOCOL, "daemon %s: job %s: reports circuit hash %.16s…, this client has %.16s…",
                              mpc_client_dname(c, d), j->id_hex, hex, j->hash_hex);
                accepted[d] = 1;   /* it holds a job under this id: withdraw it too */
            } else {
                /* an interrupted or late answer may still be an acceptance: withdraw there too */
                accepted[d] = !rd || rd == MPC_ERR_CANCELLED || rd == MPC_ERR_TIMEOUT;
            }
            if (pass == 1 && rd == MPC_ERR_TIMEOUT) continue;   /* silent, not bound: left out */
            if (rd && !r) r = rd;
            if (rd && !first[0]) memcpy(first, c->errmsg, sizeof first);
        }
    }
    if (r) {
        if (first[0]) memcpy(c->errmsg, first, sizeof first);
        s_withdraw(c, j->id, j->id_hex, accepted);
        s_set_live(j, 0);   /* still staged; a retry draws a new id */
        return r;
    }
    s_set_live(j, 1);
    return s_send_staged(c, j);
}

/* CANCEL of job `id` to the daemons d with which[d] (every configured daemon when which is
 * NULL); writes each daemon's result to res[d] (1: cancelled, 0: does not hold the job, < 0:
 * an error, its message in msg when it is the first).  Returns how many cancelled it.  The
 * interrupt flag is not looked at: cancelling is what an interrupted application does. */
static uint32_t s_cancel_send(mpc_client *c, const uint8_t *id, const char *id_hex, const int *which, int64_t wait_ms,
                              int *res, char *msg, size_t msglen, int *first_err)
{
    const volatile sig_atomic_t *intr = c->intr;
    c->intr = NULL;
    mpc_cwire_req q;
    mpc_client_req_init(c, &q, MPC_CW_CANCEL, id);
    int64_t deadline = (int64_t)mpc_now_ms() + (wait_ms < c->cfg.timeout_ms ? wait_ms : c->cfg.timeout_ms);
    int sent[MPC_MAX_PARTIES] = {0};
    uint32_t done = 0;
    *first_err = 0;
    if (msglen) msg[0] = 0;
    for (uint32_t d = 0; d < c->cfg.n_daemons; d++) {
        res[d] = 0;
        if (which && !which[d]) continue;
        res[d] = mpc_client_send_req(c, d, &q, NULL, 0, deadline, id_hex);
        sent[d] = res[d] == 0;
        if (res[d] && !*first_err) {
            *first_err = res[d];
            snprintf(msg, msglen, "%s", c->errmsg);
        }
    }
    for (uint32_t d = 0; d < c->cfg.n_daemons; d++) {
        if (!sent[d]) continue;
        mpc_cwire_rep rep;
        int r = mpc_client_recv_rep(c, d, q.rid, MPC_CW_CANCEL, deadline, &rep, NULL, id_hex);
        res[d] = r == 0 ? 1 : r == MPC_ERR_NOTFOUND ? 0 : r;
        if (r == 0) done++;
        if (res[d] < 0 && !*first_err) {
            *first_err = r;
            snprintf(msg, msglen, "%s", c->errmsg);
        }
    }
    c->intr = intr;
    return done;
}

/* Withdraws a refused submission from the daemons that accepted it (best effort: the message
 * of the refusal stays the client's error). */
static void s_withdraw(mpc_client *c, const uint8_t *id, const char *id_hex, const int *accepted)
{
    int any = 0;
    for (uint32_t d = 0; d < c->cfg.n_daemons; d++) any |= accepted[d];
    if (!any) return;
    char saved[S_ERRMSG_MAX], msg[8];
    int res[MPC_MAX_PARTIES], first_err;
    memcpy(saved, c->errmsg, sizeof saved);
    (void)s_cancel_send(c, id, id_hex, accepted, S_CANCEL_WAIT_MS, res, msg, sizeof msg, &first_err);
    memcpy(c->errmsg, saved, sizeof saved);
}

static int s_cancel(mpc_client *c, const char *job_id, int64_t wait_ms)
{
    c->errmsg[0] = 0;
    uint8_t id[MPC_CWIRE_JOB_BYTES];
    char id_hex[MPC_CWIRE_JOB_HEX + 1];
    if (!job_id || mpc_cwire_job_parse(id, job_id) != 0)
        return s_seterr(c, MPC_ERR_INVALID, "'%.40s' is not a job id (32 hex digits)", job_id ? job_id : "");
    mpc_cwire_job_hex(id, id_hex);
    int res[MPC_MAX_PARTIES], first_err;
    char msg[S_ERRMSG_MAX];
    uint32_t done = s_cancel_send(c, id, id_hex, NULL, wait_ms, res, msg, sizeof msg, &first_err);
    if (first_err) return s_seterr(c, first_err, "%s", msg);
    if (!done) return s_seterr(c, MPC_ERR_NOTFOUND, "job %s: no daemon holds this job", id_hex);
    return 0;
}

int mpc_client_cancel(mpc_client *c, const char *job_id)
{
    return s_cancel(c, job_id, c->cfg.timeout_ms);
}

/* This client has talked to the job's daemons already: a daemon that does not take the cancel
 * within S_CANCEL_WAIT_MS is gone (a dead daemon must not hold an interrupted `mpc run`). */
int mpc_job_cancel(mpc_client *c, mpc_job *j)
{
    c->errmsg[0] = 0;
    if (!j->live) return s_seterr(c, MPC_ERR_STATE, "the job is not submitted yet: nothing to cancel");
    return s_cancel(c, j->id_hex, S_CANCEL_WAIT_MS);
}

/* Checks daemon d's STATUS answer for job `id`: it holds the job (else MPC_ERR_NOTFOUND),
 * with j's circuit, under the binding the daemons before it reported (kept in daemon_of once
 * *have_binding). */
static int s_attach_one(mpc_client *c, mpc_job *j, uint32_t d, const mpc_cwire_rep *rep, const char *id_hex,
                        uint32_t *daemon_of, int *have_binding)
{
    if (!rep->has_job)
        return s_seterr(c, MPC_ERR_NOTFOUND, "daemon %s: job %s: unknown to this daemon", mpc_client_dname(c, d), id_hex);
    if (sodium_memcmp(rep->job.hash, j->hash, MPC_HASH_BYTES) != 0)
        return s_seterr(c, MPC_ERR_CIRCUIT,
                        "daemon %s: job %s: runs a different circuit than the one given here (hash %.16s…); "
                        "refusing to contribute", mpc_client_dname(c, d), id_hex, j->hash_hex);
    if (rep->job.n_bind != j->k)
        return s_seterr(c, MPC_ERR_PROTOCOL, "daemon %s: job %s: binds %u parties, the circuit has %u", mpc_client_dname(c, d),
                        id_hex, rep->job.n_bind, j->k);
    for (uint32_t i = 0; i < j->k; i++) {
        int dd = mpc_client_conf_daemon(&c->cfg, rep->job.bind[i]);
        if (dd < 0)
            return s_seterr(c, MPC_ERR_CONFIG, "daemon %s: job %s: binds party '%s' to daemon '%s', which is not in %s",
                            mpc_client_dname(c, d), id_hex, j->circ->party_names[i], rep->job.bind[i], c->cfg.path);
        if (*have_binding && daemon_of[i] != (uint32_t)dd)
            return s_seterr(c, MPC_ERR_PROTOCOL, "daemon %s: job %s: reports a binding that differs from the other daemons'",
                            mpc_client_dname(c, d), id_hex);
        if (j->bound && j->daemon_of[i] != (uint32_t)dd)
            return s_seterr(c, MPC_ERR_CIRCUIT, "daemon %s: job %s: binds party '%s' to daemon %s, not to %s as asked here",
                            mpc_client_dname(c, d), id_hex, j->circ->party_names[i], rep->job.bind[i],
                            mpc_client_dname(c, j->daemon_of[i]));
        daemon_of[i] = (uint32_t)dd;
    }
    *have_binding = 1;
    mpc_job_note_security(j, d, rep->job.malicious);   /* inputs through MASK? (client_in.c) */
    return 0;
}

static int s_bound_to(const uint32_t *daemon_of, uint32_t k, uint32_t d)
{
    for (uint32_t i = 0; i < k; i++)
        if (daemon_of[i] == d) return 1;
    return 0;
}

/* Asks every daemon for job `id` and checks it runs j's circuit under one binding, which it
 * writes to daemon_of.  Every daemon bound to the job must answer and hold it; one that is
 * not bound may be unreachable, silent for S_UNBOUND_WAIT_MS or without the job (it may be
 * down, or restarted since: docs/daemon.md, "Sequencer failover"). */
static int s_attach_check(mpc_client *c, mpc_job *j, const uint8_t *id, const char *id_hex, uint32_t *daemon_of)
{
    mpc_cwire_req q;
    mpc_client_req_init(c, &q, MPC_CW_STATUS, id);
    q.has_job = 1;
    int64_t deadline = (int64_t)mpc_now_ms() + c->cfg.timeout_ms, early = (int64_t)mpc_now_ms() + S_UNBOUND_WAIT_MS;
    if (early > deadline) early = deadline;
    int sent[MPC_MAX_PARTIES] = {0}, done[MPC_MAX_PARTIES] = {0}, err[MPC_MAX_PARTIES] = {0}, have_binding = 0;
    char msgs[MPC_MAX_PARTIES][S_ERRMSG_MAX];   /* per daemon: why it is left out */
    for (uint32_t d = 0; d < c->cfg.n_daemons; d++) {
        int r = mpc_client_send_req(c, d, &q, NULL, 0, early, id_hex);
        if (r == MPC_ERR_CANCELLED) return r;
        sent[d] = !r;
        if ((err[d] = r)) memcpy(msgs[d], c->errmsg, S_ERRMSG_MAX);
    }
    /* First every answer that comes within S_UNBOUND_WAIT_MS; then, the binding known, the
     * bound daemons' up to the deadline (those the request reached, then the others). */
    int64_t window = (int64_t)mpc_now_ms() + S_UNBOUND_WAIT_MS;
    if (window > deadline) window = deadline;
    for (int pass = 0; pass < 3; pass++) {
        for (uint32_t d = 0; d < c->cfg.n_daemons; d++) {
            if (done[d] || (pass < 2 && !sent[d]) || (pass == 2 && sent[d])) continue;
            if (pass > 0 && have_binding && !s_bound_to(daemon_of, j->k, d)) continue;
            int r = 0;
            if (pass == 2) {   /* not reachable within the first wait: try again, the full time */
                r = mpc_client_send_req(c, d, &q, NULL, 0, deadline, id_hex);
                sent[d] = !r;
            }
            mpc_cwire_rep rep;
            if (!r) r = mpc_client_recv_rep(c, d, q.rid, MPC_CW_STATUS, pass ? deadline : window, &rep, NULL, id_hex);
            if (r == MPC_ERR_CANCELLED) return r;
            if (r == MPC_ERR_TIMEOUT && pass == 0) continue;
            done[d] = 1;
            if (!r) r = s_attach_one(c, j, d, &rep, id_hex, daemon_of, &have_binding);
            if (r && r != MPC_ERR_NOTFOUND && r != MPC_ERR_TIMEOUT && r != MPC_ERR_IO) return r;
            if ((err[d] = r)) memcpy(msgs[d], c->errmsg, S_ERRMSG_MAX);
        }
    }
    for (uint32_t d = 0; d < c->cfg.n_daemons; d++) {
        if (!err[d] || (have_binding && !s_bound_to(daemon_of, j->k, d))) continue;
        memcpy(c->errmsg, msgs[d], S_ERRMSG_MAX);
        return err[d];
    }
    return 0;
}

int mpc_job_attach(mpc_client *c, mpc_job *j, const char *job_id)
{
    c->errmsg[0] = 0;
    if (j->live) return s_seterr(c, MPC_ERR_STATE, "%sis already live", j->where);
    uint8_t id[MPC_CWIRE_JOB_BYTES];
    char id_hex[MPC_CWIRE_JOB_HEX + 1];
    if (!job_id || mpc_cwire_job_parse(id, job_id) != 0)
        return s_seterr(c, MPC_ERR_INVALID, "'%.40s' is not a job id (32 hex digits)", job_id ? job_id : "");
    mpc_cwire_job_hex(id, id_hex);
    uint32_t daemon_of[MPC_MAX_PARTIES];
    int r = s_check_together(c, j);
    if (r) return r;
    r = s_attach_check(c, j, id, id_hex, daemon_of);
    if (r) return r;
    memcpy(j->daemon_of, daemon_of, sizeof daemon_of);
    s_fill_binding(c, j, NULL);
    memcpy(j->id, id, sizeof id);
    s_set_live(j, 1);
    return s_send_staged(c, j);
}

/* --------------------------------------------------------------------------------------- *
 * Compiling */

/* Compiles with "NAME=VALUE" defines.  Initialises *diag in every case (the caller frees it);
 * 0, or a code with the first error in err. */
static int s_compile(const char *src, size_t len, const char *filename, const char *const *defines, size_t n_defines,
                     unsigned cflags, mpc_circuit **out, mpc_diag *diag, char *err, size_t errlen)
{
    *out = NULL;
    mpc_diag_init(diag, filename, src, len);
    if (!src || !filename || (n_defines && !defines) || n_defines > 1024) {
        snprintf(err, errlen, "invalid arguments");
        return MPC_ERR_INVALID;
    }
    mpc_define defs[1024];
    char *copies[1024];
    size_t n = 0;
    int r = MPC_ERR_NOMEM;
    for (; n < n_defines; n++) {
        const char *eq = defines[n] ? strchr(defines[n], '=') : NULL;
        if (!eq || eq == defines[n]) {
            snprintf(err, errlen, "-D '%.64s': expected NAME=VALUE", defines[n] ? defines[n] : "");
            r = MPC_ERR_INVALID;
            goto out;
        }
        copies[n] = strdup(defines[n]);
        if (!copies[n]) {
            snprintf(err, errlen, "out of memory");
            goto out;
        }
        copies[n][eq - defines[n]] = 0;
        defs[n].name = copies[n];
        defs[n].value = copies[n] + (eq - defines[n]) + 1;
    }
    if (mpc_compile_ex(src, len, filename, n ? defs : NULL, n, cflags, out, diag) != 0) {
        const mpc_diag_item *it = mpc_diag_first_error(diag);
        if (it) mpc_diag_format(diag, it, err, errlen);
        else snprintf(err, errlen, "%s: compilation failed", filename);
        r = MPC_ERR_CIRCUIT;
        goto out;
    }
    r = 0;
out:
    for (size_t i = 0; i < n; i++) free(copies[i]);
    return r;
}

int mpc_client_compile(const char *src, size_t len, const char *filename, const char *const *defines,
                       size_t n_defines, uint8_t **circ, size_t *circ_len, char *err, size_t errlen)
{
    *circ = NULL;
    *circ_len = 0;
    mpc_circuit *c = NULL;
    mpc_diag diag;
    int r = s_compile(src, len, filename, defines, n_defines, MPC_COMPILE_PUSHDOWN, &c, &diag, err, errlen);
    mpc_diag_free(&diag);
    if (r) return r;
    uint8_t *bytes = NULL;
    size_t blen = 0;
    r = MPC_ERR_NOMEM;
    if (mpc_circ_write(c, &bytes, &blen) != 0) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    *circ = mpc_client_alloc(blen);
    if (!*circ) {
        free(bytes);
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    memcpy(*circ, bytes, blen);
    free(bytes);
    *circ_len = blen;
    r = 0;
out:
    mpc_circ_destroy(&c);
    return r;
}
