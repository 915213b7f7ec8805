/* transport_zmq_direct.c — direct lanes: small messages between two parties on a stream socket
 * of their own, encrypted and authenticated here, without ZeroMQ's I/O threads.
 *
 * Why: a message through ZeroMQ crosses three threads (our thread hands it to our I/O thread,
 * which encrypts and writes it; the peer's I/O thread reads and decrypts it and hands it to
 * the peer's thread), so a dependent round costs three wake-ups in a row; on a direct lane
 * the sending thread writes the frame itself and the peer's waiting thread reads it: one.
 * docs/transport.md ("Direct lanes") gives the handshake, the frames, the ordering rule and the
 * measurements.
 *
 * Handshake (the lower index connects to the higher one's listener), after Noise KK
 * (Perrin, "The Noise Protocol Framework", rev. 34, pattern KK: both static keys known in
 * advance; here one message each way plus a key confirmation):
 *   I -> R: "mpcdDL01" | i | r | S_i | E_i                 (8 + 1 + 1 + 32 + 32 bytes)
 *   R -> I: E_r | tag_R                                    (32 + 16)
 *   I -> R: tag_I                                          (16)
 * K = BLAKE2b-512("mpcd direct lane v1" | X(e_i,E_r) | X(e_i,S_r) | X(s_i,E_r) | X(s_i,S_r)
 *                 | S_i | S_r | E_i | E_r | i | r), split into k_ir and k_ri;
 * tag_R = ChaCha20-Poly1305-IETF(k_ri, nonce 0, empty, AD = "R"), tag_I the same with k_ir,
 * "I".  S_i (one of the initiator's admitted keys: during a key rotation it may hold its next
 * one) travels in the clear, as the index already does.  The static-static term binds the lane to the two parties' configured CURVE keys, the
 * ephemeral-ephemeral term gives forward secrecy, the mixed terms keep a stolen static key of
 * one side from impersonating the other to it.  Data frames use nonces 1, 2, ... per
 * direction: a dropped, replayed or reordered frame fails authentication.
 *
 * Frame: u32 length L (little-endian, at most S_DL_FRAME_MAX) | L bytes of ciphertext of
 *   kind (1 byte: 0 message, 1 marker) | arg (u64) | header length (1 byte) | header | payload
 * with the 4 length bytes as associated data.  A message's arg is the number of ZeroMQ stream
 * messages the sender had sent to this peer before it; a marker's arg k says "ZeroMQ stream
 * message number k to you has been handed to ZeroMQ".  Together they keep the order of
 * transport.h (messages between a directed pair arrive in order) across the two paths. */
#include "transport_zmq_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <poll.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "clock.h"
#include "mpc_err.h"
#include "zmq_wipe.h"

#define S_DL_MAGIC    "mpcdDL02"
#define S_DL_LABEL    "mpcd direct lane v2"
#define S_DL_TAG      16                 /* the AEADs' tags: ChaCha20-Poly1305 (handshake), AES-GCM */
#define S_DL_PT_HEAD  (1 + 8 + 1)
#define S_DL_PT_MAX   (S_DL_PT_HEAD + MPC_WIRE_HDR_MAX + S_DIRECT_MAX)
#define S_DL_FRAME_MAX (S_DL_PT_MAX + S_DL_TAG)
#define S_DL_PART_BIT  0x80000000u       /* in a frame's length word: a part of a large payload */
#define S_DL_WBUF      (4 + S_DL_PART + S_DL_TAG)
#define S_DL_RBUF      (2 * S_DL_WBUF)
/* frame kinds (the first plaintext byte of a frame that is not a part) */
#define S_DL_MSG      0
#define S_DL_MARK     1
#define S_DL_BIG      2
/* Setting lanes up again while the transport runs (the reader does it, mu held): the longest a
 * handshake may take, the rest of the listener after a refused connection, and the pauses
 * between attempts to reach a higher peer again. */
#define S_DL_SERVICE_HS_MS 200
#define S_DL_PAUSE_MS      1000
#define S_DL_RETRY_MIN_MS  1000
#define S_DL_RETRY_MAX_MS  30000

/* Plaintext of a lane's frames, in one sodium_malloc region.  (The keys are in the two
 * OpenSSL cipher contexts, which OpenSSL wipes when they are freed.) */
struct s_lane_keys {
    uint8_t pt[S_DL_PT_MAX];          /* a decrypted frame waiting for its turn (kind, arg, ...) */
    uint8_t out[S_DL_PT_MAX];         /* a frame being built */
};

/* ---- frames: AES-256-GCM (OpenSSL), nonce = frame number, the length word as associated data */

static EVP_CIPHER_CTX *s_gcm_new(const uint8_t key[32], int enc)
{
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    if (c && EVP_CipherInit_ex(c, EVP_aes_256_gcm(), NULL, key, NULL, enc) != 1) {
        EVP_CIPHER_CTX_free(c);
        c = NULL;
    }
    return c;
}

static void s_gcm_iv(uint8_t iv[12], uint64_t n)
{
    memset(iv, 0, 12);
    memcpy(iv, &n, 8);
}

/* ct (len + S_DL_TAG bytes) = AES-256-GCM of pt under frame number n; 0 or -1. */
static int s_seal(void *ctx, uint64_t n, const uint8_t ad[4], const uint8_t *pt, size_t len, uint8_t *ct)
{
    EVP_CIPHER_CTX *c = ctx;
    uint8_t iv[12];
    int ol = 0;
    s_gcm_iv(iv, n);
    if (EVP_EncryptInit_ex(c, NULL, NULL, NULL, iv) != 1 || EVP_EncryptUpdate(c, NULL, &ol, ad, 4) != 1 ||
        (len && EVP_EncryptUpdate(c, ct, &ol, pt, (int)len) != 1) || EVP_EncryptFinal_ex(c, ct + len, &ol) != 1 ||
        EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, S_DL_TAG, ct + len) != 1)
        return -1;
    return 0;
}

/* pt (len - S_DL_TAG bytes) from ct (len bytes, tag last) under frame number n; 0, or -1 if it
 * does not authenticate (pt is then wiped). */
static int s_open(void *ctx, uint64_t n, const uint8_t ad[4], const uint8_t *ct, size_t len, uint8_t *pt)
{
    EVP_CIPHER_CTX *c = ctx;
    size_t m = len - S_DL_TAG;
    uint8_t iv[12], tag[S_DL_TAG];
    int ol = 0;
    s_gcm_iv(iv, n);
    memcpy(tag, ct + m, S_DL_TAG);
    if (EVP_DecryptInit_ex(c, NULL, NULL, NULL, iv) != 1 || EVP_DecryptUpdate(c, NULL, &ol, ad, 4) != 1 ||
        (m && EVP_DecryptUpdate(c, pt, &ol, ct, (int)m) != 1) ||
        EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, S_DL_TAG, tag) != 1 || EVP_DecryptFinal_ex(c, pt + m, &ol) != 1) {
        if (m) sodium_memzero(pt, m);
        return -1;
    }
    return 0;
}

/* ---- endpoints ------------------------------------------------------------------------ */

/* "tcp://A.B.C.D:PORT" (PORT may be 0 or *: the kernel picks) or "ipc://PATH". */
static int s_parse(const char *ep, struct sockaddr_storage *ss, socklen_t *len)
{
    memset(ss, 0, sizeof *ss);
    if (!strncmp(ep, "ipc://", 6)) {
        struct sockaddr_un *u = (struct sockaddr_un *)ss;
        size_t n = strlen(ep + 6);
        if (!n || n >= sizeof u->sun_path) return -1;
        u->sun_family = AF_UNIX;
        memcpy(u->sun_path, ep + 6, n + 1);
        *len = (socklen_t)sizeof *u;
        return 0;
    }
    if (strncmp(ep, "tcp://", 6)) return -1;
    char host[64];
    const char *colon = strrchr(ep + 6, ':');
    if (!colon || (size_t)(colon - (ep + 6)) >= sizeof host) return -1;
    memcpy(host, ep + 6, (size_t)(colon - (ep + 6)));
    host[colon - (ep + 6)] = 0;
    struct sockaddr_in *a = (struct sockaddr_in *)ss;
    a->sin_family = AF_INET;
    if (inet_pton(AF_INET, host, &a->sin_addr) != 1) return -1;
    unsigned long port = 0;
    if (strcmp(colon + 1, "*")) {
        char *end;
        errno = 0;
        port = strtoul(colon + 1, &end, 10);
        if (errno || end == colon + 1 || *end || port > 65535) return -1;
    }
    a->sin_port = htons((uint16_t)port);
    *len = (socklen_t)sizeof *a;
    return 0;
}

int mpc_transport_zmq_direct_endpoint_ok(const char *ep)
{
    struct sockaddr_storage ss;
    socklen_t len;
    if (!ep || s_parse(ep, &ss, &len) != 0) return MPC_ERR_CONFIG;
    if (ss.ss_family == AF_INET && ((struct sockaddr_in *)&ss)->sin_port == 0) return MPC_ERR_CONFIG;
    return 0;
}

static void s_sockopts(int fd, int family)
{
    int one = 1;
    if (family == AF_INET) (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    (void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

/* 1 if a Unix socket file at ss has nobody listening (connect refused): a stale one. */
static int s_stale_unix(const struct sockaddr_storage *ss, socklen_t len)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return 0;
    int stale = connect(fd, (const struct sockaddr *)ss, len) != 0 && errno == ECONNREFUSED;
    close(fd);
    return stale;
}

int zt_direct_listen(s_zt *z, char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    socklen_t len;
    const char *ep = z->direct_bind;
    if (s_parse(ep, &ss, &len) != 0) {
        zt_fmt(err, errlen, "direct lane endpoint %s: not tcp://IPv4:PORT or ipc://PATH", ep);
        return MPC_ERR_CONFIG;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), one = 1, e = 0;
    if (fd < 0) {
        e = errno;
    } else {
        if (ss.ss_family == AF_INET) (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        int b = bind(fd, (struct sockaddr *)&ss, len);
        if (b != 0 && errno == EADDRINUSE && ss.ss_family == AF_UNIX && s_stale_unix(&ss, len)) {
            (void)unlink(((struct sockaddr_un *)&ss)->sun_path);   /* left by a daemon that was killed */
            b = bind(fd, (struct sockaddr *)&ss, len);
        }
        if (b != 0 || listen(fd, MPC_ZMQ_MAX_PARTIES) != 0) e = errno;
    }
    if (e) {
        if (fd >= 0) close(fd);
        zt_fmt(err, errlen, "cannot listen on direct lane endpoint %s: %s", ep, strerror(e));
        return MPC_ERR_IO;
    }
    z->dl_listen = fd;
    if (ss.ss_family == AF_INET) {   /* read back the port the kernel picked */
        struct sockaddr_in a;
        socklen_t alen = sizeof a;
        char host[INET_ADDRSTRLEN];
        if (getsockname(fd, (struct sockaddr *)&a, &alen) == 0 && inet_ntop(AF_INET, &a.sin_addr, host, sizeof host))
            snprintf(z->direct_bind, sizeof z->direct_bind, "tcp://%s:%u", host, (unsigned)ntohs(a.sin_port));
    }
    return 0;
}

void zt_direct_unlisten(s_zt *z)
{
    if (z->dl_listen < 0) return;
    close(z->dl_listen);
    z->dl_listen = -1;
    if (!strncmp(z->direct_bind, "ipc://", 6)) (void)unlink(z->direct_bind + 6);
}

/* ---- blocking I/O with a deadline (handshake only) -------------------------------------- */

static int s_wait(int fd, short ev, int64_t deadline)
{
    for (;;) {
        int64_t left = deadline - (int64_t)mpc_now_ms();
        if (left <= 0) return MPC_ERR_TIMEOUT;
        struct pollfd p = {fd, ev, 0};
        int r = poll(&p, 1, (int)(left > 1000 ? 1000 : left));
        if (r > 0) return (p.revents & (POLLERR | POLLNVAL)) && !(p.revents & ev) ? MPC_ERR_IO : 0;
        if (r < 0 && errno != EINTR) return MPC_ERR_IO;
    }
}

static int s_write_all(int fd, const uint8_t *b, size_t n, int64_t deadline)
{
    while (n) {
        ssize_t w = send(fd, b, n, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w > 0) {
            b += w;
            n -= (size_t)w;
            continue;
        }
        if (w < 0 && errno != EAGAIN && errno != EINTR) return MPC_ERR_IO;
        int r = s_wait(fd, POLLOUT, deadline);
        if (r) return r;
    }
    return 0;
}

static int s_read_all(int fd, uint8_t *b, size_t n, int64_t deadline)
{
    while (n) {
        ssize_t g = recv(fd, b, n, MSG_DONTWAIT);
        if (g > 0) {
            b += g;
            n -= (size_t)g;
            continue;
        }
        if (g == 0) return MPC_ERR_IO;
        if (errno != EAGAIN && errno != EINTR) return MPC_ERR_IO;
        int r = s_wait(fd, POLLIN, deadline);
        if (r) return r;
    }
    return 0;
}

/* ---- the handshake ---------------------------------------------------------------------- */

typedef struct {
    uint8_t esk[32], epk[32], peer_epk[32], dh[4][32], k[64];
} s_hs;

static const uint8_t s_nonce0[crypto_aead_chacha20poly1305_ietf_NPUBBYTES];

/* k = k_ir | k_ri from the four DH terms (computed by either side, same order). */
static int s_derive(s_hs *h, const uint8_t *spk_i, const uint8_t *spk_r, const uint8_t *epk_i,
                    const uint8_t *epk_r, uint8_t i, uint8_t r)
{
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, sizeof h->k);
    crypto_generichash_update(&st, (const uint8_t *)S_DL_LABEL, sizeof S_DL_LABEL - 1);
    for (int t = 0; t < 4; t++) crypto_generichash_update(&st, h->dh[t], 32);
    const uint8_t *pub[4] = {spk_i, spk_r, epk_i, epk_r};
    for (int t = 0; t < 4; t++) crypto_generichash_update(&st, pub[t], 32);
    uint8_t ir[2] = {i, r};
    crypto_generichash_update(&st, ir, 2);
    crypto_generichash_final(&st, h->k, sizeof h->k);
    sodium_memzero(&st, sizeof st);
    return 0;
}

static void s_tag(uint8_t tag[S_DL_TAG], const uint8_t key[32], const char *who)
{
    unsigned long long tl = 0;
    crypto_aead_chacha20poly1305_ietf_encrypt(tag, &tl, NULL, 0, (const uint8_t *)who, 1, NULL, s_nonce0, key);
}

static int s_tag_ok(const uint8_t tag[S_DL_TAG], const uint8_t key[32], const char *who)
{
    unsigned long long ml = 0;
    return crypto_aead_chacha20poly1305_ietf_decrypt(NULL, &ml, NULL, tag, S_DL_TAG, (const uint8_t *)who, 1,
                                                     s_nonce0, key) == 0;
}

/* Installs an established lane to peer j (keys from h, tx = k_ir for the initiator) in place
 * of any lane it had (a peer that makes a new lane has restarted: what was in flight on the
 * old one is lost, so its epoch moves on), then sends LANE_SYNC on ZeroMQ: our ZeroMQ messages
 * after it take their place among this lane's frames, those before it come before them all.
 * The peer's frames are read once its LANE_SYNC for this lane has come (zt_lane_synced). */
static int s_lane_up(s_zt *z, uint32_t j, int fd, const s_hs *h, int initiator, uint64_t id)
{
    s_lane *l = &z->peer[j].lane;
    if (l->fd >= 0) {
        if (l->wbusy) return MPC_ERR_STATE;   /* a thread is inside a frame: the peer tries again */
        zt_lane_fail(z, j, "replaced by a new lane");
        zt_lane_close(l);
        zt_release_parked(z, j, NULL);
    }
    l->keys = sodium_malloc(sizeof *l->keys);
    l->etx = s_gcm_new(h->k + (initiator ? 0 : 32), 1);
    l->erx = s_gcm_new(h->k + (initiator ? 32 : 0), 0);
    l->rbuf = malloc(S_DL_RBUF);   /* ciphertext only */
    l->wbuf = malloc(S_DL_WBUF);
    if (!l->keys || !l->etx || !l->erx || !l->rbuf || !l->wbuf) {
        zt_lane_close(l);   /* fd is still -1: frees what was made */
        return MPC_ERR_NOMEM;
    }
    l->fd = fd;
    l->ntx = l->nrx = 1;
    l->roff = l->rlen = 0;
    l->have_pt = 0;
    l->broken = 0;
    l->why = NULL;
    l->order = 0;   /* the peer's ZeroMQ messages are filed as they come until its LANE_SYNC */
    l->synced = 0;
    l->id = id;
    l->zsent = l->zfiled = l->zallowed = 0;
    z->dl_made++;
    atomic_store_explicit(&z->peer[j].pub_lane, 1, memory_order_relaxed);
    z->peer[j].lane_backoff_ms = 0;
    int r = zt_send_sync(z, j, id, z->cfg.timeout_ms < 1000 ? z->cfg.timeout_ms : 1000);
    if (r) zt_lane_fail(z, j, "LANE_SYNC could not be sent");   /* the reader closes it */
    return 0;
}

/* The lane's id: the first 8 bytes of BLAKE2b(E_i | E_r), public values both sides know. */
static uint64_t s_lane_id(const uint8_t *epk_i, const uint8_t *epk_r)
{
    uint8_t d[16];
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, sizeof d);
    crypto_generichash_update(&st, epk_i, 32);
    crypto_generichash_update(&st, epk_r, 32);
    crypto_generichash_final(&st, d, sizeof d);
    uint64_t id;
    memcpy(&id, d, 8);
    return id;
}

void zt_lane_synced(s_zt *z, uint32_t j, uint64_t id)
{
    s_lane *l = &z->peer[j].lane;
    if (l->fd < 0 || l->broken || l->synced || l->id != id) return;   /* a lane we no longer have */
    l->synced = 1;
    l->order = 1;   /* from here on its ZeroMQ messages wait for their markers */
    l->zfiled = l->zallowed = 0;
}

/* Our side of one handshake on fd with peer j; 0 and the lane installed, or an error. */
static int s_handshake(s_zt *z, int fd, int initiator, uint32_t want_peer, uint32_t *got_peer, int64_t deadline)
{
    s_hs *h = sodium_malloc(sizeof *h);
    if (!h) return MPC_ERR_NOMEM;
    const uint8_t *ssk = mpc_keypair_secret(z->keys), *spk = mpc_keypair_public(z->keys);
    uint8_t m1[8 + 2 + 64], m2[32 + S_DL_TAG], m3[S_DL_TAG];
    int r = MPC_ERR_CRYPTO;
    crypto_box_keypair(h->epk, h->esk);
    uint32_t j = want_peer;
    if (initiator) {
        memcpy(m1, S_DL_MAGIC, 8);
        m1[8] = (uint8_t)z->cfg.self;
        m1[9] = (uint8_t)j;
        memcpy(m1 + 10, spk, 32);
        memcpy(m1 + 42, h->epk, 32);
        if ((r = s_write_all(fd, m1, sizeof m1, deadline)) || (r = s_read_all(fd, m2, sizeof m2, deadline)))
            goto out;
        memcpy(h->peer_epk, m2, 32);
        s_peer *p = &z->peer[j];
        r = MPC_ERR_CRYPTO;
        if (crypto_scalarmult(h->dh[0], h->esk, h->peer_epk) || crypto_scalarmult(h->dh[1], h->esk, p->keys[p->key_idx]) ||
            crypto_scalarmult(h->dh[2], ssk, h->peer_epk) || crypto_scalarmult(h->dh[3], ssk, p->keys[p->key_idx]))
            goto out;
        s_derive(h, spk, p->keys[p->key_idx], h->epk, h->peer_epk, (uint8_t)z->cfg.self, (uint8_t)j);
        if (!s_tag_ok(m2 + 32, h->k + 32, "R")) goto out;
        s_tag(m3, h->k, "I");
        if ((r = s_write_all(fd, m3, sizeof m3, deadline))) goto out;
    } else {
        if ((r = s_read_all(fd, m1, sizeof m1, deadline))) goto out;
        r = MPC_ERR_CRYPTO;
        j = m1[8];
        if (memcmp(m1, S_DL_MAGIC, 8) || j >= z->cfg.self || m1[9] != z->cfg.self || !z->peer[j].direct[0])
            goto out;
        s_peer *p = &z->peer[j];
        const uint8_t *pk = NULL;   /* the initiator holds one of the keys we admit for it */
        for (int kk = 0; kk < p->nkeys; kk++)
            if (sodium_memcmp(p->keys[kk], m1 + 10, 32) == 0) pk = p->keys[kk];
        if (!pk) goto out;
        memcpy(h->peer_epk, m1 + 42, 32);
        memcpy(m2, h->epk, 32);
        if (crypto_scalarmult(h->dh[0], h->esk, h->peer_epk) || crypto_scalarmult(h->dh[1], ssk, h->peer_epk) ||
            crypto_scalarmult(h->dh[2], h->esk, pk) || crypto_scalarmult(h->dh[3], ssk, pk))
            goto out;
        s_derive(h, pk, spk, h->peer_epk, h->epk, (uint8_t)j, (uint8_t)z->cfg.self);
        s_tag(m2 + 32, h->k + 32, "R");
        if ((r = s_write_all(fd, m2, sizeof m2, deadline)) || (r = s_read_all(fd, m3, sizeof m3, deadline)))
            goto out;
        r = MPC_ERR_CRYPTO;
        if (!s_tag_ok(m3, h->k, "I")) goto out;
    }
    *got_peer = j;
    r = s_lane_up(z, j, fd, h, initiator, initiator ? s_lane_id(h->epk, h->peer_epk) : s_lane_id(h->peer_epk, h->epk));
out:
    sodium_free(h);   /* sodium_free wipes */
    return r;
}

/* Connects to a peer's listener without blocking past the deadline (a host that drops SYNs
 * must not hold the reader); retries while the peer is not listening yet. */
static int s_connect(const char *ep, int64_t deadline, int *out)
{
    struct sockaddr_storage ss;
    socklen_t len;
    if (s_parse(ep, &ss, &len) != 0) return MPC_ERR_CONFIG;
    for (;;) {
        int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), e = 0;
        if (fd < 0) return MPC_ERR_IO;
        if (connect(fd, (struct sockaddr *)&ss, len) != 0) {
            e = errno;
            if (e == EINPROGRESS && s_wait(fd, POLLOUT, deadline) == 0) {
                socklen_t el = sizeof e;
                if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el) != 0) e = errno;
            }
        }
        if (!e) {
            s_sockopts(fd, ss.ss_family);
            *out = fd;
            return 0;
        }
        close(fd);
        if ((int64_t)mpc_now_ms() >= deadline) return MPC_ERR_TIMEOUT;
        nanosleep(&(struct timespec){0, 10000000L}, NULL);   /* the peer is not listening yet */
    }
}

/* Lower-index peers with a lane endpoint but no usable lane yet. */
static uint32_t s_missing_lower(const s_zt *z)
{
    uint32_t need = 0;
    for (uint32_t j = 0; j < z->cfg.self; j++) need += z->peer[j].direct[0] && !zt_lane_usable(&z->peer[j].lane);
    return need;
}

/* mu held.  Accepts one connection on our listener and runs the responder's handshake; a
 * connection that does not complete it by the deadline, or fails it, is closed and counted. */
static void s_accept_one(s_zt *z, int fd, int64_t deadline)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    s_sockopts(fd, getsockname(fd, (struct sockaddr *)&ss, &sl) == 0 ? ss.ss_family : AF_UNIX);
    uint32_t got = 0;
    if (s_handshake(z, fd, 0, 0, &got, deadline) != 0) {
        z->dl_refused++;
        close(fd);
        /* a refusal rests the listener, so that connections that never finish their handshake
         * cost the reader at most S_DL_SERVICE_HS_MS per S_DL_PAUSE_MS */
        z->dl_pause_until = mpc_now_ms() + S_DL_PAUSE_MS;
    }
}

/* mu held.  Connects to higher peer j's listener and runs the initiator's handshake. */
static int s_initiate(s_zt *z, uint32_t j, int64_t deadline)
{
    int fd = -1;
    uint32_t got = 0;
    int q = s_connect(z->peer[j].direct, deadline, &fd);
    if (q == 0 && (q = s_handshake(z, fd, 1, j, &got, deadline)) != 0) close(fd);
    return q;
}

int mpc_transport_zmq_direct(mpc_transport *t, int timeout_ms)
{
    s_zt *z = zt_self(t);
    if (!z) return MPC_ERR_INVALID;
    if (timeout_ms < 0) timeout_ms = z->cfg.timeout_ms;
    int64_t deadline = (int64_t)mpc_now_ms() + timeout_ms;
    pthread_mutex_lock(&z->mu);
    int r = 0;
    if (z->dl_listen < 0 || z->dl_started) {
        zt_seterr(z, "direct lanes: %s", z->dl_listen < 0 ? "no direct_bind endpoint" : "already set up");
        pthread_mutex_unlock(&z->mu);
        return MPC_ERR_STATE;
    }
    z->dl_started = 1;
    char failed[256] = "";
    size_t fl = 0;
    /* Accept from every lower index, then connect to every higher one: each party waits only
     * for lower ones, so the order has no cycle.  Lanes a reader already accepted count. */
    while (s_missing_lower(z) && (int64_t)mpc_now_ms() < deadline) {
        if (s_wait(z->dl_listen, POLLIN, deadline) != 0) break;
        int fd = accept4(z->dl_listen, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) continue;
        int64_t dl = (int64_t)mpc_now_ms() + 1000;   /* 1 s for a handshake */
        s_accept_one(z, fd, dl < deadline ? dl : deadline);
    }
    z->dl_pause_until = 0;
    for (uint32_t j = z->cfg.self + 1; j < z->cfg.n; j++) {
        if (!z->peer[j].direct[0] || zt_lane_usable(&z->peer[j].lane)) continue;
        /* at most 1 s each: a peer that is not there does not keep the next ones waiting (the
         * reader tries it again later, zt_lane_service) */
        int64_t dl = (int64_t)mpc_now_ms() + 1000;
        int q = s_initiate(z, j, dl < deadline ? dl : deadline);
        if (q) {
            fl += (size_t)snprintf(failed + fl, fl < sizeof failed ? sizeof failed - fl : 0, " peer %u (%s);", j,
                                   mpc_strerror(q));
            z->peer[j].lane_retry_at = mpc_now_ms() + S_DL_RETRY_MIN_MS;
            z->peer[j].lane_backoff_ms = 2 * S_DL_RETRY_MIN_MS;
        }
    }
    for (uint32_t j = 0; j < z->cfg.self; j++)
        if (z->peer[j].direct[0] && !zt_lane_usable(&z->peer[j].lane))
            fl += (size_t)snprintf(failed + fl, fl < sizeof failed ? sizeof failed - fl : 0, " peer %u (no handshake);", j);
    if (fl) {
        zt_seterr(z, "direct lanes not set up with:%s ZeroMQ carries their messages", failed);
        r = MPC_ERR_IO;
    }
    pthread_mutex_unlock(&z->mu);
    return r;
}

int zt_lane_listen_fd(const s_zt *z)
{
    return z->dl_listen >= 0 && mpc_now_ms() >= z->dl_pause_until ? z->dl_listen : -1;
}

void zt_lane_service(s_zt *z)
{
    if (z->dl_listen < 0) return;
    /* Lanes offered by lower peers (a restarted one, or one whose lane failed): a few per call. */
    for (int k = 0; k < 4 && zt_lane_listen_fd(z) >= 0; k++) {
        int fd = accept4(z->dl_listen, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) break;
        s_accept_one(z, fd, (int64_t)mpc_now_ms() + S_DL_SERVICE_HS_MS);
    }
    if (!z->dl_started) return;
    /* Lanes to higher peers that are up and have none: made again, with a pause that doubles
     * after each failed attempt (a peer that lists no lane for us refuses every one). */
    for (uint32_t j = z->cfg.self + 1; j < z->cfg.n; j++) {
        s_peer *p = &z->peer[j];
        uint64_t now = mpc_now_ms();
        if (!p->direct[0] || p->lane.fd >= 0 || p->state != S_PEER_UP || now < p->lane_retry_at) continue;
        if (s_initiate(z, j, (int64_t)now + S_DL_SERVICE_HS_MS) != 0) {
            uint64_t b = p->lane_backoff_ms ? p->lane_backoff_ms : S_DL_RETRY_MIN_MS;
            p->lane_retry_at = mpc_now_ms() + b;
            p->lane_backoff_ms = 2 * b > S_DL_RETRY_MAX_MS ? S_DL_RETRY_MAX_MS : 2 * b;
        }
    }
}

const char *mpc_transport_zmq_direct_endpoint(const mpc_transport *t)
{
    s_zt *z = zt_self(t);
    return z ? z->direct_bind : "";
}

/* ---- frames ---------------------------------------------------------------------------- */

int zt_lane_usable(const s_lane *l)
{
    return l->fd >= 0 && !l->broken;
}

int zt_lane_takes(const s_zt *z, uint32_t j, uint64_t count)
{
    return zt_lane_usable(&z->peer[j].lane) && (!z->cfg.direct_max_bytes || count * 8 <= z->cfg.direct_max_bytes);
}

void zt_lane_fail(s_zt *z, uint32_t j, const char *why)
{
    s_lane *l = &z->peer[j].lane;
    if (l->broken || l->fd < 0) return;
    l->broken = 1;
    l->order = 0;   /* parked ZeroMQ messages are filed as they came (zt_release_parked) */
    l->why = why;
    z->dl_failures++;
    atomic_store_explicit(&z->peer[j].pub_lane, 0, memory_order_relaxed);
    z->peer[j].epoch++;   /* what was in flight on it may be lost: waits on the peer fail */
}

/* mu held.  Writes a whole frame.  While the peer's socket buffer is full, the thread that may
 * read drains what arrived for us (so two parties that both write cannot block each other),
 * and every writer waits for room (1 ms at a time) with mu released.  The lane is marked busy throughout, so no
 * other frame starts in the middle of this one, and the reader neither closes nor replaces the
 * lane meanwhile (its buffers stay); a lane failed meanwhile ends the write. */
static int s_lane_write_all(s_zt *z, uint32_t j, const uint8_t *b, size_t n, int64_t deadline)
{
    s_lane *l = &z->peer[j].lane;
    int was_busy = l->wbusy, r = 0;
    l->wbusy = 1;
    while (n) {
        ssize_t w = send(l->fd, b, n, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w > 0) {
            b += w;
            n -= (size_t)w;
            continue;
        }
        if (w < 0 && errno != EAGAIN && errno != EINTR) {
            r = MPC_ERR_IO;
            break;
        }
        if ((int64_t)mpc_now_ms() >= deadline) {
            r = MPC_ERR_TIMEOUT;
            break;
        }
        struct pollfd p = {l->fd, POLLOUT, 0};
        if (zt_may_read(z)) zt_drain(z);
        pthread_mutex_unlock(&z->mu);   /* other threads go on meanwhile; the lane stays ours */
        (void)poll(&p, 1, 1);
        pthread_mutex_lock(&z->mu);
        if (l->broken) {
            r = MPC_ERR_IO;
            break;
        }
    }
    l->wbusy = was_busy;
    return r;
}

/* mu held.  Waits until no other thread is in the middle of a frame on the lane; from then
 * until the frame is written, mu is released only with the lane marked busy, so the frame's
 * arg (zsent) and its place on the lane agree. */
static int s_lane_acquire(s_zt *z, uint32_t j, int timeout_ms)
{
    s_lane *l = &z->peer[j].lane;
    int64_t deadline = (int64_t)mpc_now_ms() + timeout_ms;
    while (l->wbusy) {
        pthread_mutex_unlock(&z->mu);
        nanosleep(&(struct timespec){0, 200000L}, NULL);
        pthread_mutex_lock(&z->mu);
        if ((int64_t)mpc_now_ms() >= deadline) {
            zt_seterr(z, "direct lane to peer %u: another thread's frame did not finish", j);
            return MPC_ERR_TIMEOUT;
        }
    }
    if (zt_lane_usable(l)) return 0;
    zt_seterr(z, "direct lane to peer %u failed", j);
    return MPC_ERR_IO;
}

/* mu held, lane acquired.  Encrypts pt (ptlen bytes; part: a part of a large payload) into one
 * frame and writes it to peer j; 0, or the lane fails. */
static int s_lane_frame(s_zt *z, uint32_t j, const uint8_t *pt, size_t ptlen, int part, int timeout_ms)
{
    s_lane *l = &z->peer[j].lane;
    uint32_t word = (uint32_t)(ptlen + S_DL_TAG) | (part ? S_DL_PART_BIT : 0);
    memcpy(l->wbuf, &word, 4);
    int r = s_seal(l->etx, l->ntx, l->wbuf, pt, ptlen, l->wbuf + 4) ? MPC_ERR_CRYPTO : 0;
    if (pt == l->keys->out) sodium_memzero(l->keys->out, ptlen);
    l->ntx++;
    if (!r) r = s_lane_write_all(z, j, l->wbuf, 4 + ptlen + S_DL_TAG, (int64_t)mpc_now_ms() + timeout_ms);
    if (r) {
        zt_lane_fail(z, j, r == MPC_ERR_TIMEOUT ? "the peer did not read its lane"
                           : r == MPC_ERR_CRYPTO ? "a frame could not be encrypted"
                                                 : "write failed");
        zt_seterr(z, "direct lane to peer %u: %s", j, l->why ? l->why : "failed");
        return r;
    }
    return 0;
}

/* kind, arg, header into keys->out: the plaintext's start. */
static size_t s_lane_head(s_lane *l, uint8_t kind, uint64_t arg, const uint8_t *hdr, size_t hlen)
{
    uint8_t *o = l->keys->out;
    o[0] = kind;
    memcpy(o + 1, &arg, 8);
    o[9] = (uint8_t)hlen;
    if (hlen) memcpy(o + S_DL_PT_HEAD, hdr, hlen);
    return S_DL_PT_HEAD + hlen;
}

/* A payload of up to S_DIRECT_MAX bytes travels in its header's frame; a larger one in part
 * frames of S_DL_PART bytes (the last one shorter) right after it, the lane held busy until the
 * last one, encrypted straight from the caller's buffer. */
int zt_lane_send(s_zt *z, uint32_t j, const uint8_t *hdr, size_t hlen, const void *payload, size_t plen,
                 int timeout_ms)
{
    s_lane *l = &z->peer[j].lane;
    int r = s_lane_acquire(z, j, timeout_ms);
    if (r) return r;
    if (plen <= S_DIRECT_MAX) {
        size_t n = s_lane_head(l, S_DL_MSG, l->zsent, hdr, hlen);
        if (plen) memcpy(l->keys->out + n, payload, plen);
        return s_lane_frame(z, j, l->keys->out, n + plen, 0, timeout_ms);
    }
    r = s_lane_frame(z, j, l->keys->out, s_lane_head(l, S_DL_BIG, l->zsent, hdr, hlen), 0, timeout_ms);
    l->wbusy = 1;
    for (size_t off = 0; !r && off < plen; off += S_DL_PART) {
        size_t n = plen - off < S_DL_PART ? plen - off : S_DL_PART;
        r = s_lane_frame(z, j, (const uint8_t *)payload + off, n, 1, timeout_ms);
    }
    l->wbusy = 0;
    return r;
}

int zt_lane_mark(s_zt *z, uint32_t j, int timeout_ms)
{
    s_lane *l = &z->peer[j].lane;
    int r = s_lane_acquire(z, j, timeout_ms);
    if (r) {   /* without its marker the peer cannot place the ZeroMQ message: no lane any more */
        zt_lane_fail(z, j, "a marker could not be written");
        return r;
    }
    l->zsent++;
    return s_lane_frame(z, j, l->keys->out, s_lane_head(l, S_DL_MARK, l->zsent, NULL, 0), 0, timeout_ms);
}

int zt_lane_pending(const s_lane *l)
{
    if (l->have_pt) return 1;
    size_t have = l->rlen - l->roff;
    if (have < 4) return 0;
    uint32_t word;
    memcpy(&word, l->rbuf + l->roff, 4);
    return have >= 4 + (size_t)(word & ~S_DL_PART_BIT);   /* an impossible length too: it fails */
}

/* A large message's last part has come: files it (or drops it, refused at its header). */
static void s_lane_whole(s_zt *z, uint32_t j, s_want *w)
{
    s_lane *l = &z->peer[j].lane;
    uint8_t *buf = l->as.buf;
    int skip = l->as.skip;
    l->as.active = 0;
    l->as.buf = NULL;
    if (skip) return;
    zmq_msg_t pm;
    if (mpc_zmq_msg_init_owned_secret(&pm, buf, l->as.need) != 0) {   /* buf released (wiped) */
        zt_lane_fail(z, j, "out of memory receiving a message");
        return;
    }
    zt_lane_file(z, j, &l->as.h, l->as.hlen, &pm, w);
}

/* mu held, reader.  Decrypts the next whole frame of rbuf: a part into the large message being
 * put together (filed once whole), any other frame into keys->pt.  1 done, 0 no whole frame,
 * < 0 the lane failed. */
static int s_lane_decrypt(s_zt *z, uint32_t j, s_want *w)
{
    s_lane *l = &z->peer[j].lane;
    if (l->rlen - l->roff < 4) return 0;
    uint8_t *f = l->rbuf + l->roff;
    uint32_t word;
    memcpy(&word, f, 4);
    int part = (word & S_DL_PART_BIT) != 0;
    size_t L = word & ~S_DL_PART_BIT, left = l->as.need - l->as.have;
    size_t want = left < S_DL_PART ? left : S_DL_PART;
    if (part != l->as.active) {
        zt_lane_fail(z, j, part ? "a part frame without its message" : "a large message's parts cut short");
        return -1;
    }
    if (part ? L != want + S_DL_TAG : (L < S_DL_TAG + S_DL_PT_HEAD || L > S_DL_FRAME_MAX)) {
        zt_lane_fail(z, j, "frame of an impossible length");
        return -1;
    }
    if (l->rlen - l->roff < 4 + L) return 0;
    uint8_t *dst = !part ? l->keys->pt : l->as.skip ? f + 4 : l->as.buf + l->as.have;
    if (s_open(l->erx, l->nrx, f, f + 4, L, dst) != 0) {
        zt_lane_fail(z, j, "a frame failed authentication");
        return -1;
    }
    l->nrx++;
    l->roff += 4 + L;
    if (!part) {
        l->ptlen = L - S_DL_TAG;
        l->have_pt = 1;
        return 1;
    }
    if (l->as.skip) sodium_memzero(dst, want);
    l->as.have += want;
    if (l->as.have == l->as.need) s_lane_whole(z, j, w);
    return 1;
}

/* mu held, reader.  A large message's header frame (kind S_DL_BIG) may be filed now: checks
 * the header and starts putting the payload together from the part frames that follow (a
 * header refused for its stream — over the size limit, say — leaves a marker there, and its
 * parts are read and dropped).  0, or -1 (the lane failed). */
static int s_lane_begin(s_zt *z, uint32_t j, const uint8_t *hb, size_t hlen, s_want *w)
{
    s_lane *l = &z->peer[j].lane;
    mpc_msg_hdr h;
    int r = zt_lane_header(z, j, hb, hlen, SIZE_MAX, &h, w);
    if (r < 0 || h.count > MPC_WIRE_MAX_COUNT || h.count * 8 <= S_DIRECT_MAX) {
        zt_lane_fail(z, j, "malformed frame");
        return -1;
    }
    l->as.skip = r > 0;
    l->as.buf = l->as.skip ? NULL : malloc((size_t)h.count * 8);
    if (!l->as.skip && !l->as.buf) {
        zt_lane_fail(z, j, "out of memory receiving a message");
        return -1;
    }
    l->as.active = 1;
    l->as.h = h;
    l->as.hlen = hlen;
    l->as.need = (size_t)h.count * 8;
    l->as.have = 0;
    return 0;
}

/* mu held, reader.  Reads more of the lane into rbuf: 1 read, 0 nothing there, -1 the lane
 * failed (closed by the peer, an error). */
static int s_lane_fill(s_zt *z, uint32_t j)
{
    s_lane *l = &z->peer[j].lane;
    if (l->roff) {   /* less than a frame is left there: move it to the front */
        memmove(l->rbuf, l->rbuf + l->roff, l->rlen - l->roff);
        l->rlen -= l->roff;
        l->roff = 0;
    }
    ssize_t g = recv(l->fd, l->rbuf + l->rlen, S_DL_RBUF - l->rlen, MSG_DONTWAIT);
    if (g > 0) {
        l->rlen += (size_t)g;
        return 1;
    }
    if (g == 0 || (errno != EAGAIN && errno != EINTR)) {
        zt_lane_fail(z, j, g == 0 ? "the peer closed it" : "read failed");
        return -1;
    }
    return 0;
}

/* mu held, reader.  Reads what the lane to peer j has and files, in order, what may be filed
 * (zt_lane_deliver); stops once w is found.  1 if anything was filed or released. */
int zt_lane_read(s_zt *z, uint32_t j, s_want *w)
{
    s_lane *l = &z->peer[j].lane;
    int progress = 0;
    if (!l->synced && zt_lane_usable(l)) return 0;   /* its frames come after the peer's LANE_SYNC */
    while (zt_lane_usable(l) && !(w && w->found)) {
        if (!l->have_pt) {
            int d = s_lane_decrypt(z, j, w);
            if (d > 0) {
                progress = 1;
                continue;
            }
            if (d < 0 || s_lane_fill(z, j) <= 0) break;
            continue;
        }
        const uint8_t *pt = l->keys->pt;
        uint64_t arg;
        memcpy(&arg, pt + 1, 8);
        if (pt[0] == S_DL_MARK && l->ptlen == S_DL_PT_HEAD) {
            if (arg != l->zallowed + 1) {
                zt_lane_fail(z, j, "markers out of order");
                break;
            }
            l->zallowed = arg;
            l->have_pt = 0;
            progress = 1;
            zt_release_parked(z, j, w);
            continue;
        }
        if ((pt[0] != S_DL_MSG && pt[0] != S_DL_BIG) || arg > l->zallowed) {
            zt_lane_fail(z, j, "malformed frame");
            break;
        }
        if (arg > l->zfiled) break;   /* ZeroMQ messages sent before it have not all come */
        size_t hlen = pt[9];
        if (S_DL_PT_HEAD + hlen > l->ptlen || hlen > MPC_WIRE_HDR_MAX ||
            (pt[0] == S_DL_BIG && l->ptlen != S_DL_PT_HEAD + hlen)) {
            zt_lane_fail(z, j, "malformed frame");
            break;
        }
        if (pt[0] == S_DL_MSG)
            zt_lane_deliver(z, j, pt + S_DL_PT_HEAD, hlen, pt + S_DL_PT_HEAD + hlen, l->ptlen - S_DL_PT_HEAD - hlen, w);
        else if (s_lane_begin(z, j, pt + S_DL_PT_HEAD, hlen, w) < 0)
            break;
        sodium_memzero(l->keys->pt, l->ptlen);
        l->have_pt = 0;
        progress = 1;
    }
    if (!zt_lane_usable(l)) zt_release_parked(z, j, w);
    return progress;
}

/* mu held, reader.  Polls the lane to peer j without sleeping for up to S_SPIN_US before the
 * reader blocks in zmq_poll: a small message of a dependent round then costs no wake-up of
 * this thread (docs/transport.md, "Spinning on a lane").  mu is released while polling (only
 * the reader closes a lane's fd, so it stays valid).  After S_SPIN_MISSES spins in a row that
 * saw nothing (a slow peer, bulk traffic, an idle daemon) the lane rests S_SPIN_REST waits
 * without one, so a waiting thread does not keep a core busy.  1 if the lane became readable. */
int zt_lane_spin(s_zt *z, uint32_t j)
{
    s_lane *l = &z->peer[j].lane;
    if (!zt_lane_usable(l) || !l->synced || zt_lane_pending(l)) return 0;
    if (l->spin_rest) {
        l->spin_rest--;
        return 0;
    }
    struct pollfd p = {.fd = l->fd, .events = POLLIN};
    int got = 0;
    pthread_mutex_unlock(&z->mu);
    uint64_t t0 = mpc_now_us();
    do {
        got = poll(&p, 1, 0) > 0;
    } while (!got && mpc_now_us() - t0 < S_SPIN_US);
    pthread_mutex_lock(&z->mu);
    if (got) {
        l->spin_misses = 0;
    } else if (++l->spin_misses >= S_SPIN_MISSES) {
        l->spin_misses = 0;
        l->spin_rest = S_SPIN_REST;
    }
    return got;
}

/* Closes peer j's lane (reader or destroy: nobody polls its fd) and frees its secrets. */
void zt_lane_close(s_lane *l)
{
    if (l->fd >= 0) close(l->fd);
    l->fd = -1;
    if (l->keys) sodium_free(l->keys);
    l->keys = NULL;
    EVP_CIPHER_CTX_free(l->etx);   /* OpenSSL wipes the key schedule */
    EVP_CIPHER_CTX_free(l->erx);
    l->etx = l->erx = NULL;
    if (l->rbuf) sodium_memzero(l->rbuf, S_DL_RBUF);
    free(l->rbuf);
    free(l->wbuf);   /* ciphertext */
    l->rbuf = l->wbuf = NULL;
    l->roff = l->rlen = 0;
    l->have_pt = 0;
    if (l->as.buf) {
        sodium_memzero(l->as.buf, l->as.have);
        free(l->as.buf);
    }
    memset(&l->as, 0, sizeof l->as);
}
