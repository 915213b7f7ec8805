/* zap.c — the ZAP handler (zap.h).  Besides transport_zmq.c, the only file of protocols/ that
 * includes zmq.h. */
#include "zap.h"

#include <errno.h>
#include <pthread.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "mpc_err.h"

/* libzmq >= 4.3 option (declared only under ZMQ_BUILD_DRAFT_API): with it, a CURVE server
 * whose ZAP handler is unreachable refuses the handshake instead of admitting any key. */
#ifndef ZMQ_ZAP_ENFORCE_DOMAIN
#define ZMQ_ZAP_ENFORCE_DOMAIN 93
#endif

#define S_DOMAIN_MAX  256          /* ZAP domain, bytes, NUL included */
#define S_FRAMES      7            /* version, request id, domain, address, routing id,
                                    * mechanism, key */
#define S_ADDR_MAX    64           /* address passed to the refusal callback */

typedef struct {
    uint8_t key[MPC_KEY_BYTES];
    char    id[MPC_ZAP_ID_MAX];
} s_entry;

struct mpc_zap {
    void              *sock;       /* REP on MPC_ZAP_ENDPOINT; the thread owns it once started */
    pthread_t          thread;
    int                running;
    char               domain[S_DOMAIN_MAX];
    /* The admitted keys: replaced whole by mpc_zap_set_keys (any thread) under mu, which the
     * handler's thread holds while it decides, so a table is freed only when no decision
     * reads it. */
    pthread_mutex_t    mu;
    uint32_t           n;
    s_entry           *entries;
    mpc_zap_refused_fn on_refused;
    void              *refused_ctx;
    atomic_uint_fast64_t admitted, refused;
};

static void s_fmt(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void s_fmt(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || !errlen) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static int s_frame_is(zmq_msg_t *m, const char *s)
{
    size_t n = strlen(s);
    return zmq_msg_size(m) == n && memcmp(zmq_msg_data(m), s, n) == 0;
}

/* The reply: [version, request id, status code, status text, user id, metadata]. */
static int s_reply(void *sock, zmq_msg_t *reqid, const char *code, const char *text,
                   const char *user)
{
    const void *rid = reqid ? zmq_msg_data(reqid) : "";
    size_t rlen = reqid ? zmq_msg_size(reqid) : 0;
    if (zmq_send(sock, "1.0", 3, ZMQ_SNDMORE) < 0) return -1;
    if (zmq_send(sock, rid, rlen, ZMQ_SNDMORE) < 0) return -1;
    if (zmq_send(sock, code, strlen(code), ZMQ_SNDMORE) < 0) return -1;
    if (zmq_send(sock, text, strlen(text), ZMQ_SNDMORE) < 0) return -1;
    if (zmq_send(sock, user, strlen(user), ZMQ_SNDMORE) < 0) return -1;
    return zmq_send(sock, "", 0, 0) < 0 ? -1 : 0;
}

/* Decides on a request of nf frames (extra: frames beyond those kept), mu held: the entry
 * admitted, or NULL with *why set. */
static const s_entry *s_decide(const mpc_zap *z, zmq_msg_t *fr, int nf, int extra,
                               mpc_zap_refusal *why)
{
    *why = MPC_ZAP_MALFORMED;
    if (nf != S_FRAMES || extra || !s_frame_is(&fr[0], "1.0")) return NULL;
    if (!s_frame_is(&fr[2], z->domain)) {
        *why = MPC_ZAP_WRONG_DOMAIN;
        return NULL;
    }
    if (!s_frame_is(&fr[5], "CURVE")) {
        *why = MPC_ZAP_WRONG_MECHANISM;
        return NULL;
    }
    if (zmq_msg_size(&fr[6]) != MPC_KEY_BYTES) return NULL;
    *why = MPC_ZAP_UNKNOWN_KEY;
    for (uint32_t i = 0; i < z->n; i++)
        if (sodium_memcmp(zmq_msg_data(&fr[6]), z->entries[i].key, MPC_KEY_BYTES) == 0)
            return &z->entries[i];
    return NULL;
}

/* The peer address of a request (frame 3), printable ASCII only, for the callback. */
static void s_address(zmq_msg_t *fr, int nf, char out[S_ADDR_MAX])
{
    out[0] = 0;
    if (nf < 4) return;
    const unsigned char *a = zmq_msg_data(&fr[3]);
    size_t n = zmq_msg_size(&fr[3]), k = 0;
    for (size_t i = 0; i < n && k + 1 < S_ADDR_MAX; i++)
        out[k++] = (a[i] >= 0x20 && a[i] < 0x7f) ? (char)a[i] : '?';
    out[k] = 0;
}

static void *s_main(void *arg)
{
    mpc_zap *z = arg;
    for (;;) {
        zmq_msg_t fr[S_FRAMES];
        int nf = 0, extra = 0, more = 1, dead = 0;
        while (more) {
            zmq_msg_t scratch, *m = nf < S_FRAMES ? &fr[nf] : &scratch;
            zmq_msg_init(m);
            if (zmq_msg_recv(m, z->sock, 0) < 0) {
                zmq_msg_close(m);
                if (errno == EINTR) continue;
                dead = 1;                /* ETERM: the context is shutting down */
                break;
            }
            more = zmq_msg_more(m);
            if (m == &scratch) {
                extra++;
                zmq_msg_close(m);
            } else {
                nf++;
            }
        }
        if (!dead) {
            mpc_zap_refusal why;
            char id[MPC_ZAP_ID_MAX] = "";
            pthread_mutex_lock(&z->mu);
            const s_entry *e = s_decide(z, fr, nf, extra, &why);
            if (e) memcpy(id, e->id, sizeof id);
            pthread_mutex_unlock(&z->mu);
            if (e) {
                atomic_fetch_add(&z->admitted, 1);
            } else {
                atomic_fetch_add(&z->refused, 1);
                if (z->on_refused) {
                    char addr[S_ADDR_MAX];
                    s_address(fr, nf, addr);
                    z->on_refused(z->refused_ctx, why, addr);
                }
            }
            if (s_reply(z->sock, nf >= 2 ? &fr[1] : NULL, e ? "200" : "400",
                        e ? "OK" : "not admitted", id) < 0 &&
                errno == ETERM)
                dead = 1;
        }
        for (int i = 0; i < nf; i++) zmq_msg_close(&fr[i]);
        if (dead) break;
    }
    int zero = 0;
    zmq_setsockopt(z->sock, ZMQ_LINGER, &zero, sizeof zero);
    zmq_close(z->sock);
    z->sock = NULL;
    return NULL;
}

/* Builds a table of n entries from keys and ids (checked: 1..63-byte ids, distinct keys). */
static int s_make_table(uint32_t n, const uint8_t (*keys)[MPC_KEY_BYTES], const char *const *ids,
                        s_entry **out, char *err, size_t errlen)
{
    *out = NULL;
    if (n > MPC_ZAP_KEYS_MAX || (n && (!keys || !ids))) {
        s_fmt(err, errlen, "ZAP: too many keys or no key list");
        return MPC_ERR_CONFIG;
    }
    s_entry *t = calloc(n ? n : 1, sizeof *t);
    if (!t) return MPC_ERR_NOMEM;
    for (uint32_t i = 0; i < n; i++) {
        size_t len = ids[i] ? strlen(ids[i]) : 0;
        if (len == 0 || len >= MPC_ZAP_ID_MAX) {
            s_fmt(err, errlen, "ZAP: identity %u is empty or longer than %d bytes", i,
                  MPC_ZAP_ID_MAX - 1);
            free(t);
            return MPC_ERR_CONFIG;
        }
        for (uint32_t j = 0; j < i; j++)
            if (memcmp(keys[i], keys[j], MPC_KEY_BYTES) == 0) {
                s_fmt(err, errlen, "ZAP: identities '%s' and '%s' have the same key", ids[j],
                      ids[i]);
                free(t);
                return MPC_ERR_CONFIG;
            }
        memcpy(t[i].key, keys[i], MPC_KEY_BYTES);
        memcpy(t[i].id, ids[i], len + 1);
    }
    *out = t;
    return 0;
}

static int s_copy_config(mpc_zap *z, const mpc_zap_config *cfg, char *err, size_t errlen)
{
    if (!cfg->domain || !cfg->domain[0] || strlen(cfg->domain) >= sizeof z->domain) {
        s_fmt(err, errlen, "ZAP: missing or too long domain");
        return MPC_ERR_CONFIG;
    }
    snprintf(z->domain, sizeof z->domain, "%s", cfg->domain);
    z->n = cfg->n_keys;
    return s_make_table(cfg->n_keys, cfg->keys, cfg->ids, &z->entries, err, errlen);
}

int mpc_zap_set_keys(mpc_zap *z, uint32_t n_keys, const uint8_t (*keys)[MPC_KEY_BYTES],
                     const char *const *ids, char *err, size_t errlen)
{
    if (!z) return MPC_ERR_INVALID;
    s_entry *t = NULL;
    int r = s_make_table(n_keys, keys, ids, &t, err, errlen);
    if (r) return r;
    pthread_mutex_lock(&z->mu);
    s_entry *old = z->entries;
    uint32_t old_n = z->n;
    z->entries = t;
    z->n = n_keys;
    pthread_mutex_unlock(&z->mu);
    if (old) sodium_memzero(old, (old_n ? old_n : 1) * sizeof *old);
    free(old);
    return 0;
}

int mpc_zap_start(mpc_zap **out, void *zmq_ctx, const mpc_zap_config *cfg, char *err,
                  size_t errlen)
{
    if (!out || !zmq_ctx || !cfg) return MPC_ERR_INVALID;
    *out = NULL;
    mpc_zap *z = calloc(1, sizeof *z);
    if (!z) return MPC_ERR_NOMEM;
    atomic_init(&z->admitted, 0);
    atomic_init(&z->refused, 0);
    pthread_mutex_init(&z->mu, NULL);
    z->on_refused = cfg->on_refused;
    z->refused_ctx = cfg->refused_ctx;
    int r = s_copy_config(z, cfg, err, errlen);
    if (r) goto fail;
    r = MPC_ERR_IO;
    if (!(z->sock = zmq_socket(zmq_ctx, ZMQ_REP)) || zmq_bind(z->sock, MPC_ZAP_ENDPOINT) != 0) {
        s_fmt(err, errlen, "cannot start the ZAP handler: %s", zmq_strerror(errno));
        goto fail;
    }
    if (pthread_create(&z->thread, NULL, s_main, z) != 0) {
        s_fmt(err, errlen, "cannot start the ZAP thread");
        goto fail;
    }
    z->running = 1;
    *out = z;
    return 0;
fail:
    mpc_zap_destroy(&z);
    return r;
}

int mpc_zap_attach(const mpc_zap *z, void *server_socket)
{
    if (!z || !server_socket) return MPC_ERR_INVALID;
    if (zmq_setsockopt(server_socket, ZMQ_ZAP_DOMAIN, z->domain, strlen(z->domain)) != 0)
        return MPC_ERR_IO;
    /* Fail closed should the handler ever be gone: without the option libzmq admits a CURVE
     * client when no handler answers.  Set and read back; a libzmq that lacks it is refused
     * (MPC_ERR_UNSUPPORTED), so no server socket runs without it. */
    int one = 1, got = 0;
    size_t len = sizeof got;
    if (zmq_setsockopt(server_socket, ZMQ_ZAP_ENFORCE_DOMAIN, &one, sizeof one) != 0 ||
        zmq_getsockopt(server_socket, ZMQ_ZAP_ENFORCE_DOMAIN, &got, &len) != 0 || got != 1)
        return MPC_ERR_UNSUPPORTED;
    return 0;
}

uint64_t mpc_zap_admitted(const mpc_zap *z)
{
    return z ? atomic_load(&z->admitted) : 0;
}

uint64_t mpc_zap_refused(const mpc_zap *z)
{
    return z ? atomic_load(&z->refused) : 0;
}

void mpc_zap_destroy(mpc_zap **zp)
{
    if (!zp || !*zp) return;
    mpc_zap *z = *zp;
    if (z->running) {
        pthread_join(z->thread, NULL);
    } else if (z->sock) {
        int zero = 0;
        zmq_setsockopt(z->sock, ZMQ_LINGER, &zero, sizeof zero);
        zmq_close(z->sock);
    }
    if (z->entries) sodium_memzero(z->entries, (z->n ? z->n : 1) * sizeof *z->entries);
    free(z->entries);
    pthread_mutex_destroy(&z->mu);
    free(z);
    *zp = NULL;
}
