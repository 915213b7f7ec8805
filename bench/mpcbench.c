/* mpcbench.c — the benchmark programs behind `make bench` (bench/run builds this file and
 * zmq_bench.c against lib/libmpcinternal.a; they are not part of the product).
 *
 * Every multi-party mode forks one process per node (party or dealer): each builds its own
 * ZeroMQ + CURVE transport (protocols/transport_zmq.h) on 127.0.0.1, so the parties talk over
 * real loopback TCP with encryption as deployed, and each process has its own peak RSS.  The
 * parent only picks ports (below the ephemeral range: s_free_port) and keys and waits; every node prints one JSON line per repetition
 * (and one at the end with its VmHWM) on stdout, which bench/run aggregates.
 *
 *   mpcbench online  --parties N --len L [--depth D] [--kind mul|ltz|trunc] --reps R
 *       The engine (mpc_engine_run) on a circuit of D dependent layers of L element-wise
 *       MULs (or one layer of L LTZ comparisons).  Inputs are explicit shares (MPC_IN_SHARE:
 *       no PRG expansion, no key exchange) and preprocessing material is generated BEFORE the
 *       timed region (test-only local source, fresh per repetition) and handed out by a
 *       replay source that copies it: the timed region is the online phase plus those copies,
 *       whose time is measured and reported separately (prep_s).  For MULs each repetition
 *       is preceded by a bare exchange of the same rounds and bytes (floor_sec): a floor
 *       measured by the same processes at the same moment.
 *   mpcbench online --mal 1 --parties N --len L [--depth D] [--kind mul|ltz|trunc] --reps R
 *       The same circuit on the malicious-security engine (protocols/engine_mal.h):
 *       the owners' inputs are authenticated (one δ message), the products use authenticated
 *       triples, outputs are opened under masks after the MAC check.  Authenticated material
 *       (test-only dealer, protocols/auth_dealer.h) is generated before the timed region and
 *       copied out by a replay source (prep_sec).  Besides the run's wall time every node
 *       reports the engine's phases without material and checks (input_sec, layers_sec,
 *       output_sec) and its MAC check time (check_sec).
 *   mpcbench authot  --parties N --triples T --reps R
 *       SPDZ2k authenticated triples made by the parties from OT (protocols/auth_ot.h: IKNP
 *       with the KOS15 check, Gilboa products, vOLE authentication, the sacrifice and the MAC
 *       check): each repetition creates fresh sources, runs their setup (base OTs; setup_sec)
 *       and then one request of T triples (triples_sec).  Every node reports its bytes sent
 *       during the triples and its phase times.
 *   mpcbench exchange --parties N --words W --rounds K [--chunks C] --reps R
 *       K rounds in which every party sends W words to every peer (in C messages) and
 *       receives theirs: the communication of an opening round with no arithmetic (floor of
 *       online/latency).
 *   mpcbench dealer  --parties N --triples T --batch B --reps R
 *       N parties fetch T Beaver triples in batches of B from a dealer process.
 *   mpcbench zmq     --bytes X --msg M --reps R
 *       bench_zmq_loopback (zmq_bench.c): one-way CURVE loopback throughput in one process.
 *   mpcbench contrib --triples N --len D --reps R
 *       N contributions of D elements through one daemon's collection state, 2 daemons in one
 *       process, no network (bench/contrib_bench.c).
 *   mpcbench contrib-valid --triples N --len D --reps R
 *       The same with validity proofs: prep on arrival, the leader's decision per batch.
 *   mpcbench eval    --len L [--depth D] [--kind mul|ltz|trunc] --reps R
 *       mpc_eval (plaintext) of the same circuit as `online`.
 *   mpcbench flp     --len D --parties N [--triples K] --reps R
 *       Validity proofs (protocols/flp.h) of K contributions of D elements in -1..1 fixed point
 *       (16 fractional bits) for N parties, party 0 explicit and the others compressed, in one
 *       process: per contribution the client's mpc_flp_shard (prove_sec), each daemon's
 *       mpc_flp_prep (leader_sec, helper_sec) and one mpc_flp_prep_decide (decide_sec); the
 *       floors are the validity circuit evaluated in the clear (floor_prove_sec) and one
 *       BLAKE2b pass over the leader's input share (floor_verify_sec).
 *   mpcbench join    --len L --reps R
 *       The private join (protocols/join.h) of two parties as threads of this process over the
 *       in-memory transport: L keys on each side, half of them common, one payload column of
 *       A; the intersection-sum of that column is reconstructed from the shares and checked
 *       against the plaintext.  Reports the wall time of the whole run (hello to shares),
 *       each side's time in the intersection and in the OSNs, the CPU time of both parties
 *       together (what the wall time would be on one idle core) and the bytes both parties
 *       sent per key. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "auth.h"
#include "auth_dealer.h"
#include "auth_ot.h"
#include "circuit.h"
#include "clock.h"
#include "contrib_bench.h"
#include "csv.h"
#include "engine.h"
#include "engine_mal.h"
#include "eval.h"
#include "field61.h"
#include "flp.h"
#include "keys.h"
#include "mpc_err.h"
#include "prep.h"
#include "prep_dealer.h"
#include "join.h"
#include "prep_ot_bench.h"
#include "psi.h"
#include "transport_mem.h"
#include "transport_zmq.h"
#include "zmq_bench.h"

#define MAXN 17

typedef struct {
    const char *mode;
    uint32_t parties;
    uint64_t len, depth, words, rounds, chunks, triples, batch, bytes, msg;
    int reps;
    const char *kind;
    int mal;
    int direct;    /* 1: the nodes' transports use direct lanes (docs/transport.md) */
    uint64_t l2;   /* flp: the norm bound on the sum of squares (ring units; 0: none) */
    const char *derived;   /* flp: derived entries: none, squares (x_i^2 each), dot (sum x_i^2), pairs
                              (x_i x_(D/2+i) each, i < D/2) */
} opts;

static double s_now(void)
{
    return (double)mpc_now_ns() / 1e9;
}

static void s_die(const char *fmt, const char *a)
{
    fprintf(stderr, "mpcbench: ");
    fprintf(stderr, fmt, a);
    fputc('\n', stderr);
    exit(2);
}

static long s_vmhwm_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    if (!f) return -1;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "VmHWM:", 6)) kb = strtol(line + 6, NULL, 10);
    fclose(f);
    return kb;
}

/* ---- the benchmark circuit ---- */

/* --kind: 0 mul, 1 ltz, 2 trunc */
static int s_kind(const opts *o)
{
    return !strcmp(o->kind, "ltz") ? 1 : !strcmp(o->kind, "trunc") ? 2 : 0;
}

static mpc_circuit *s_circuit(uint32_t n, uint64_t len, uint64_t depth, int ltz)
{
    mpc_circuit *c = mpc_circ_new();
    char name[16], err[256];
    if (!c) return NULL;
    for (uint32_t i = 0; i < n; i++) {
        snprintf(name, sizeof name, "p%u", (unsigned)i);
        if (mpc_circ_add_party(c, name) < 0) goto bad;
    }
    uint32_t x = mpc_circ_add_input(c, "x", 0, MPC_T_INT, len, 1, 1);
    uint32_t y = mpc_circ_add_input(c, "y", 1, MPC_T_INT, len, 2, 1);
    uint32_t z;
    if (ltz) {   /* 1: LTZ(x − y); 2: TRUNC(x − y, 16, 63) */
        uint32_t d = mpc_circ_add_gate(c, MPC_G_SUB, MPC_T_INT, len, x, y, MPC_NO_WIRE, 0, 0, 3, 1);
        z = ltz == 2 ? mpc_circ_add_gate(c, MPC_G_TRUNC, MPC_T_INT, len, d, MPC_NO_WIRE, MPC_NO_WIRE, 16, 63, 3, 1)
                     : mpc_circ_add_gate(c, MPC_G_LTZ, MPC_T_BOOL, len, d, MPC_NO_WIRE, MPC_NO_WIRE, 0, 0, 3, 1);
    } else {
        z = mpc_circ_add_gate(c, MPC_G_MUL, MPC_T_INT, len, x, y, MPC_NO_WIRE, 0, 0, 3, 1);
        for (uint64_t d = 1; d < depth; d++)
            z = mpc_circ_add_gate(c, MPC_G_MUL, MPC_T_INT, len, z, y, MPC_NO_WIRE, 0, 0, 3, 1);
    }
    if (mpc_circ_add_output(c, "z", z, (1u << n) - 1, 4, 1) < 0) goto bad;
    if (mpc_circ_finish(c, err, sizeof err)) {
        fprintf(stderr, "mpcbench: circuit: %s\n", err);
        goto bad;
    }
    return c;
bad:
    mpc_circ_destroy(&c);
    return NULL;
}

/* ---- replay preprocessing: material generated before the timed region ---- */

typedef struct {
    mpc_prep_req req;
    mpc_prep_trunc_spec *specs;
    uint64_t rtot;
    uint64_t *buf;     /* every field, in mpc_prep_out order */
    uint64_t words;
} s_batch;

typedef struct {
    s_batch *b;
    size_t   nb, cap, next;
    int      record;   /* 1: pass through to `inner` and remember the requests */
    mpc_prep *inner;
    double   secs;     /* time spent inside fetch */
} s_replay;

static uint64_t s_batch_words(const mpc_prep_req *q, uint64_t rtot)
{
    return 3 * q->n_triples + 2 * q->n_squares + 3 * rtot + 2 * q->n_edabits + 3 * q->n_btriples + q->n_dabits +
           (q->n_dabits + 63) / 64;
}

static mpc_prep_out s_batch_out(uint64_t *p, const mpc_prep_req *q, uint64_t rtot)
{
    mpc_prep_out o;
    o.a = p;        p += q->n_triples;
    o.b = p;        p += q->n_triples;
    o.c = p;        p += q->n_triples;
    o.sa = p;       p += q->n_squares;
    o.sa2 = p;      p += q->n_squares;
    o.r_lo = p;     p += rtot;
    o.r_mid = p;    p += rtot;
    o.r_msb = p;    p += rtot;
    o.eda_r = p;    p += q->n_edabits;
    o.eda_bits = p; p += q->n_edabits;
    o.ba = p;       p += q->n_btriples;
    o.bb = p;       p += q->n_btriples;
    o.bc = p;       p += q->n_btriples;
    o.da_r = p;     p += q->n_dabits;
    o.da_bits = p;
    return o;
}

static void s_copy_out(const mpc_prep_out *d, const mpc_prep_out *s, const mpc_prep_req *q, uint64_t rtot)
{
#define CP(f, n) if (n) memcpy(d->f, s->f, (size_t)(n) * 8)
    CP(a, q->n_triples); CP(b, q->n_triples); CP(c, q->n_triples);
    CP(sa, q->n_squares); CP(sa2, q->n_squares);
    CP(r_lo, rtot); CP(r_mid, rtot); CP(r_msb, rtot);
    CP(eda_r, q->n_edabits); CP(eda_bits, q->n_edabits);
    CP(ba, q->n_btriples); CP(bb, q->n_btriples); CP(bc, q->n_btriples);
    CP(da_r, q->n_dabits); CP(da_bits, (q->n_dabits + 63) / 64);
#undef CP
}

static int s_replay_fetch(mpc_prep *p, const mpc_prep_req *q, mpc_prep_out *out)
{
    s_replay *R = p->impl;
    double t0 = s_now();
    uint64_t rtot = 0;
    for (uint32_t g = 0; g < q->n_trunc; g++) rtot += q->trunc[g].n;
    if (R->record) {
        if (R->nb == R->cap) {
            size_t cap = R->cap ? 2 * R->cap : 16;
            s_batch *nb = realloc(R->b, cap * sizeof *nb);
            if (!nb) return MPC_ERR_NOMEM;
            R->b = nb;
            R->cap = cap;
        }
        s_batch *b = &R->b[R->nb++];
        memset(b, 0, sizeof *b);
        b->req = *q;
        b->rtot = rtot;
        b->specs = malloc((q->n_trunc ? q->n_trunc : 1) * sizeof *b->specs);
        if (!b->specs) return MPC_ERR_NOMEM;
        if (q->n_trunc) memcpy(b->specs, q->trunc, q->n_trunc * sizeof *b->specs);
        b->req.trunc = b->specs;
        return mpc_prep_fetch(R->inner, q, out);
    }
    if (R->next >= R->nb) return MPC_ERR_PREP;
    s_batch *b = &R->b[R->next++];
    if (b->req.n_triples != q->n_triples || b->req.n_squares != q->n_squares || b->req.n_trunc != q->n_trunc || b->rtot != rtot ||
        b->req.n_edabits != q->n_edabits || b->req.n_btriples != q->n_btriples ||
        b->req.n_dabits != q->n_dabits || !b->buf)
        return MPC_ERR_PREP;
    mpc_prep_out s = s_batch_out(b->buf, &b->req, rtot);
    s_copy_out(out, &s, q, rtot);
    R->secs += s_now() - t0;
    return 0;
}

static void s_replay_destroy(mpc_prep **pp)
{
    mpc_prep *p = *pp;
    s_replay *R = p->impl;
    for (size_t i = 0; i < R->nb; i++) {
        free(R->b[i].specs);
        if (R->b[i].buf) sodium_memzero(R->b[i].buf, R->b[i].words * 8);
        free(R->b[i].buf);
    }
    free(R->b);
    free(R);
    free(p);
    *pp = NULL;
}

static const struct mpc_prep_ops s_replay_ops = {
    .fetch = s_replay_fetch, .abort = NULL, .destroy = s_replay_destroy,
};

static mpc_prep *s_replay_new(uint32_t self, uint32_t n, mpc_prep *inner)
{
    mpc_prep *p = calloc(1, sizeof *p);
    s_replay *R = calloc(1, sizeof *R);
    if (!p || !R) {
        free(p);
        free(R);
        return NULL;
    }
    R->record = inner != NULL;
    R->inner = inner;
    p->ops = &s_replay_ops;
    p->impl = R;
    p->self = self;
    p->n = n;
    p->caps = MPC_PREP_CAP_COMPARE;
    return p;
}

/* Fills every recorded batch of `rec` (moved into a fresh replay source) from a test-only
 * local source with master `m`: the same requests in the same order on every party. */
static mpc_prep *s_replay_prepare(mpc_prep *rec, const uint8_t m[32])
{
    s_replay *src = rec->impl;
    mpc_prep *p = s_replay_new(rec->self, rec->n, NULL);
    mpc_prep *gen = mpc_prep_testlocal_new(m, rec->self, rec->n);
    if (!p || !gen) goto bad;
    s_replay *R = p->impl;
    R->b = calloc(src->nb ? src->nb : 1, sizeof *R->b);
    if (!R->b) goto bad;
    R->cap = src->nb;
    for (size_t i = 0; i < src->nb; i++) {
        s_batch *b = &R->b[R->nb++];
        *b = src->b[i];
        b->specs = malloc((b->req.n_trunc ? b->req.n_trunc : 1) * sizeof *b->specs);
        if (!b->specs) goto bad;
        if (b->req.n_trunc) memcpy(b->specs, src->b[i].specs, b->req.n_trunc * sizeof *b->specs);
        b->req.trunc = b->specs;
        b->words = s_batch_words(&b->req, b->rtot);
        b->buf = malloc((b->words ? b->words : 1) * 8);
        if (!b->buf) goto bad;
        mpc_prep_out o = s_batch_out(b->buf, &b->req, b->rtot);
        if (mpc_prep_fetch(gen, &b->req, &o)) goto bad;
    }
    mpc_prep_destroy(&gen);
    return p;
bad:
    mpc_prep_destroy(&gen);
    if (p) mpc_prep_destroy(&p);
    return NULL;
}

/* ---- nodes ---- */

typedef struct {
    uint32_t nodes;
    int ports[MAXN];
    int port_locks[MAXN];
    int direct;            /* --direct 1: direct lanes for small messages, on TCP too (default 0: as mpcd) */
    int dports[MAXN];
    int dport_locks[MAXN];
    mpc_keypair *keys[MAXN];
} s_mesh;

/* A port for one node's listener.  The nodes connect to each other before every one of them
 * listens, and a connect on 127.0.0.1 to a port of the kernel's ephemeral range with no
 * listener can connect to itself (TCP simultaneous open) and hold the port the node is about
 * to bind.  So the port is taken below that range (ip_local_port_range), at random, and
 * reserved against concurrent runs by an flock on /tmp/mpcbench-ports/PORT, held in *lock for
 * the run (the lock files stay: removing one races with a run about to lock it).  A port that
 * cannot be bound now is skipped. */
static int s_free_port(int *lock)
{
    int lo = 32768;
    FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
    if (f) {
        if (fscanf(f, "%d", &lo) != 1) lo = 32768;
        fclose(f);
    }
    const int base = 10000;
    if (lo <= base + 1000) return -1;
    const char *dir = "/tmp/mpcbench-ports";
    if (mkdir(dir, 01777) == 0 && chmod(dir, 01777) != 0) return -1;
    for (int tries = 0; tries < 1000; tries++) {
        int port = base + (int)randombytes_uniform((uint32_t)(lo - base));
        char path[64];
        snprintf(path, sizeof path, "%s/%d", dir, port);
        int fd = open(path, O_RDONLY | O_CREAT | O_CLOEXEC, 0666);
        if (fd < 0) continue;
        if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
            close(fd);
            continue;
        }
        int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                                .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        int ok = s >= 0 && setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == 0 &&
                 bind(s, (struct sockaddr *)&a, sizeof a) == 0;
        if (s >= 0) close(s);
        if (ok) {
            *lock = fd;
            return port;
        }
        close(fd);
    }
    return -1;
}

static mpc_transport *s_node_transport(const s_mesh *m, uint32_t self)
{
    char ep[MAXN][64], dep[MAXN][64], err[256];
    mpc_zmq_config cfg;
    mpc_zmq_config_init(&cfg);
    cfg.self = self;
    cfg.n = m->nodes;
    for (uint32_t i = 0; i < m->nodes; i++) {
        snprintf(ep[i], sizeof ep[i], "tcp://127.0.0.1:%d", m->ports[i]);
        snprintf(dep[i], sizeof dep[i], "tcp://127.0.0.1:%d", m->dports[i]);
        if (m->direct) {
            if (i == self) cfg.direct_bind = dep[i];
            else cfg.peer_direct[i] = dep[i];
        }
        if (i != self) {
            cfg.peer_endpoints[i] = ep[i];
            memcpy(cfg.peer_public[i], mpc_keypair_public(m->keys[i]), MPC_KEY_BYTES);
        }
    }
    cfg.bind = ep[self];
    cfg.keys = m->keys[self];
    cfg.max_msg_bytes = 1ull << 30;
    cfg.timeout_ms = 120000;
    /* On a loaded 2-core box a node clearing hundreds of MB of fresh pages (the malicious
     * engine's 3 parties) starved its I/O thread past the 1 s default and the peers saw a
     * disconnect; a longer heartbeat timeout changes no throughput, only failure detection. */
    cfg.heartbeat_timeout_ms = 20000;
    mpc_transport *t = NULL;
    if (mpc_transport_zmq_new(&t, &cfg, err, sizeof err)) {
        fprintf(stderr, "mpcbench: node %u: %s\n", (unsigned)self, err);
        return NULL;
    }
    if (mpc_transport_zmq_ready(t, 20000) || (m->direct && mpc_transport_zmq_direct(t, 20000))) {
        fprintf(stderr, "mpcbench: node %u: %s\n", (unsigned)self, mpc_transport_zmq_last_error(t));
        mpc_transport_destroy(&t);
    }
    return t;
}

/* All-to-all exchange of one word among nodes [0, n) on a control stream: after it every
 * node has heard from every other, so timed regions start together (within one message). */
static int s_barrier(mpc_transport *t, uint32_t n, uint64_t seq)
{
    uint64_t w = seq;
    for (uint32_t j = 0; j < n; j++)
        if (j != t->self && mpc_send(t, j, MPC_MSG_CONTROL, 7, seq, &w, 1)) return -1;
    for (uint32_t j = 0; j < n; j++)
        if (j != t->self && mpc_recv(t, j, MPC_MSG_CONTROL, 7, seq, &w, 1, 60000)) return -1;
    return 0;
}

static void s_master(uint8_t m[32], int rep)
{
    char tag[32];
    snprintf(tag, sizeof tag, "mpcbench-%d", rep);
    crypto_generichash(m, 32, (const uint8_t *)tag, strlen(tag), NULL, 0);
}

/* `rounds` all-to-all exchanges of `words` words on stream `job`: the communication of the
 * engine's rounds without the arithmetic.  Seconds, or < 0 on failure. */
static double s_exchange(mpc_transport *t, uint32_t n, uint64_t job, uint64_t words, uint64_t rounds,
                         uint64_t *buf, uint64_t *rx)
{
    double t0 = s_now();
    for (uint64_t k = 0; k < rounds; k++) {
        for (uint32_t j = 0; j < n; j++)
            if (j != t->self && mpc_send(t, j, MPC_MSG_OPEN, job, k, buf, words)) return -1;
        for (uint32_t j = 0; j < n; j++)
            if (j != t->self && mpc_recv(t, j, MPC_MSG_OPEN, job, k, rx, words, 60000)) return -1;
    }
    return s_now() - t0;
}

static int s_node_online(const opts *o, mpc_transport *t, uint32_t self)
{
    int ltz = s_kind(o);
    mpc_circuit *c = s_circuit(o->parties, o->len, ltz ? 1 : o->depth, ltz);
    uint64_t *xs = malloc(o->len * 8), *ys = malloc(o->len * 8);
    /* paired floor (mul only): the same rounds and bytes as a bare exchange, run just before
     * each engine run by the same processes */
    uint64_t fw = ltz ? 0 : 2 * o->len, *fb = calloc(fw ? fw : 1, 8), *fr = calloc(fw ? fw : 1, 8);
    char err[512];
    int rc = 1;
    if (!c || !xs || !ys || !fb || !fr) goto out;
    randombytes_buf(xs, o->len * 8);
    randombytes_buf(ys, o->len * 8);
    mpc_engine_input in[2] = {{.mode = MPC_IN_SHARE, .values = xs, .len = o->len},
                              {.mode = MPC_IN_SHARE, .values = ys, .len = o->len}};
    for (int rep = -1; rep < o->reps; rep++) {
        /* rep -1 records the requests (and warms up); the others replay fresh material */
        uint8_t m[32];
        s_master(m, rep);
        mpc_prep *gen = NULL, *prep = NULL;
        static mpc_prep *rec;
        if (rep < 0) {
            gen = mpc_prep_testlocal_new(m, self, o->parties);
            prep = rec = s_replay_new(self, o->parties, gen);
        } else {
            prep = s_replay_prepare(rec, m);
        }
        if (!prep) goto out;
        mpc_engine_opts eo = {.stream = 100 + (uint64_t)(rep + 1), .timeout_ms = 120000};
        mpc_engine *e = mpc_engine_new(c, self, t, prep, &eo);
        double fsec = 0;
        if (fw) {
            if (!e || s_barrier(t, o->parties, 500000 + (uint64_t)(rep + 1))) goto out;
            if ((fsec = s_exchange(t, o->parties, 3000 + (uint64_t)(rep + 1), fw, o->depth, fb, fr)) < 0) goto out;
        }
        if (!e || s_barrier(t, o->parties, (uint64_t)(rep + 1))) goto out;
        uint64_t b0 = t->bytes_sent;
        double t0 = s_now();
        int r = mpc_engine_run(e, in, err, sizeof err);
        double secs = s_now() - t0;
        if (r) {
            fprintf(stderr, "mpcbench: party %u: %s\n", (unsigned)self, err);
            goto out;
        }
        mpc_engine_stats st;
        mpc_engine_stats_get(e, &st);
        mpc_engine_destroy(&e);
        if (rep >= 0) {
            printf("{\"node\": %u, \"rep\": %d, \"sec\": %.9f, \"prep_sec\": %.9f, \"floor_sec\": %.9f, "
                   "\"rounds\": %u, \"bytes_sent\": %llu, \"open_bytes_sent\": %llu, \"msgs_sent\": %llu}\n",
                   (unsigned)self, rep, secs, ((s_replay *)prep->impl)->secs, fsec, (unsigned)st.rounds,
                   (unsigned long long)(t->bytes_sent - b0), (unsigned long long)st.open_bytes_sent,
                   (unsigned long long)st.msgs_sent);
            mpc_prep_destroy(&prep);
        }
        mpc_prep_destroy(&gen);
        ((s_replay *)rec->impl)->inner = NULL;
    }
    rc = 0;
out:
    mpc_circ_destroy(&c);
    free(xs);
    free(ys);
    free(fb);
    free(fr);
    return rc;
}

/* ---- the malicious engine: replay of authenticated material ---- */

typedef struct {
    int       triples;     /* 1: a triples call (6n elements), 0: masks (2n, or 3n for the owner) */
    uint32_t  owner;
    uint64_t  n;
    mpc_u128 *buf;
} s_acall;

typedef struct {
    s_acall      *calls;
    size_t        nc, cap, next;
    mpc_auth_src *inner;   /* recording: pass through to it */
    mpc_u128      key;
    double        secs;    /* time spent copying material out */
} s_areplay;

static uint64_t s_acall_elems(const s_acall *c, uint32_t self)
{
    return c->triples ? 6 * c->n : (c->owner == self ? 3 : 2) * c->n;
}

static int s_ar_record(s_areplay *R, int triples, uint32_t owner, uint64_t n)
{
    if (R->nc == R->cap) {
        size_t cap = R->cap ? 2 * R->cap : 16;
        s_acall *nc = realloc(R->calls, cap * sizeof *nc);
        if (!nc) return MPC_ERR_NOMEM;
        R->calls = nc;
        R->cap = cap;
    }
    R->calls[R->nc++] = (s_acall){.triples = triples, .owner = owner, .n = n};
    return 0;
}

static int s_ar_key(mpc_auth_src *s, mpc_auth_key *k)
{
    s_areplay *R = s->impl;
    if (R->inner) return mpc_auth_src_key(R->inner, k);
    *k->alpha = R->key;
    return 0;
}

static int s_ar_triples(mpc_auth_src *s, uint64_t n, mpc_auth_triples *o)
{
    s_areplay *R = s->impl;
    if (R->inner) return s_ar_record(R, 1, 0, n) ? MPC_ERR_NOMEM : mpc_auth_src_triples(R->inner, n, o);
    double t0 = s_now();
    if (R->next >= R->nc || !R->calls[R->next].triples || R->calls[R->next].n != n) return MPC_ERR_PREP;
    const mpc_u128 *b = R->calls[R->next++].buf;
    mpc_u128 *dst[6] = {o->a, o->ma, o->b, o->mb, o->c, o->mc};
    for (int f = 0; f < 6; f++) memcpy(dst[f], b + f * n, (size_t)n * sizeof *b);
    R->secs += s_now() - t0;
    return 0;
}

static int s_ar_masks(mpc_auth_src *s, uint32_t owner, uint64_t n, mpc_u128 *x, mpc_u128 *m, mpc_u128 *val)
{
    s_areplay *R = s->impl;
    if (R->inner) return s_ar_record(R, 0, owner, n) ? MPC_ERR_NOMEM : mpc_auth_src_masks(R->inner, owner, n, x, m, val);
    double t0 = s_now();
    if (R->next >= R->nc || R->calls[R->next].triples || R->calls[R->next].owner != owner || R->calls[R->next].n != n)
        return MPC_ERR_PREP;
    const mpc_u128 *b = R->calls[R->next++].buf;
    memcpy(x, b, (size_t)n * sizeof *b);
    memcpy(m, b + n, (size_t)n * sizeof *b);
    if (val) memcpy(val, b + 2 * n, (size_t)n * sizeof *b);
    R->secs += s_now() - t0;
    return 0;
}

static void s_ar_destroy(mpc_auth_src **sp)
{
    s_areplay *R = (*sp)->impl;
    for (size_t i = 0; i < R->nc; i++) {
        if (R->calls[i].buf) sodium_memzero(R->calls[i].buf, s_acall_elems(&R->calls[i], (*sp)->self) * 16);
        free(R->calls[i].buf);
    }
    free(R->calls);
    sodium_memzero(&R->key, sizeof R->key);
    free(R);
    free(*sp);
    *sp = NULL;
}

static const struct mpc_auth_src_ops s_ar_ops = {s_ar_key, s_ar_triples, s_ar_masks, s_ar_destroy};

static mpc_auth_src *s_ar_new(uint32_t self, uint32_t n, mpc_auth_src *inner)
{
    mpc_auth_src *s = calloc(1, sizeof *s);
    s_areplay *R = calloc(1, sizeof *R);
    if (!s || !R) {
        free(s);
        free(R);
        return NULL;
    }
    R->inner = inner;
    s->ops = &s_ar_ops;
    s->impl = R;
    s->self = self;
    s->n = n;
    return s;
}

/* A replay source holding, for every call `rec` recorded, fresh material of a dealer with
 * master m (the same calls in the same order on every party). */
static mpc_auth_src *s_ar_prepare(const mpc_auth_src *rec, const uint8_t m[32])
{
    const s_areplay *src = rec->impl;
    mpc_auth_src *s = s_ar_new(rec->self, rec->n, NULL), *gen = mpc_auth_dealer_new(m, rec->self, rec->n);
    mpc_auth_key k = {0};
    if (!s || !gen || mpc_auth_key_init(&k) || mpc_auth_src_key(gen, &k)) goto bad;
    s_areplay *R = s->impl;
    R->key = *k.alpha;
    if (!(R->calls = calloc(src->nc ? src->nc : 1, sizeof *R->calls))) goto bad;
    R->cap = src->nc;
    for (size_t i = 0; i < src->nc; i++) {
        s_acall *c = &R->calls[R->nc++];
        *c = src->calls[i];
        uint64_t n = c->n;
        if (!(c->buf = malloc((size_t)s_acall_elems(c, rec->self) * 16))) goto bad;
        mpc_auth_triples t = {c->buf, c->buf + n, c->buf + 2 * n, c->buf + 3 * n, c->buf + 4 * n, c->buf + 5 * n};
        int r = c->triples ? mpc_auth_src_triples(gen, n, &t)
                           : mpc_auth_src_masks(gen, c->owner, n, c->buf, c->buf + n,
                                                c->owner == rec->self ? c->buf + 2 * n : NULL);
        if (r) goto bad;
    }
    mpc_auth_key_free(&k);
    mpc_auth_src_destroy(&gen);
    return s;
bad:
    mpc_auth_key_free(&k);
    mpc_auth_src_destroy(&gen);
    mpc_auth_src_destroy(&s);
    return NULL;
}

static int s_node_online_mal(const opts *o, mpc_transport *t, uint32_t self)
{
    mpc_circuit *c = s_circuit(o->parties, o->len, s_kind(o) ? 1 : o->depth, s_kind(o));
    uint64_t *xs = malloc(o->len * 8), *ys = malloc(o->len * 8);
    mpc_auth_src *rec = NULL;
    char err[512];
    int rc = 1;
    if (!c || !xs || !ys) goto out;
    randombytes_buf(xs, o->len * 8);
    randombytes_buf(ys, o->len * 8);
    const uint64_t *in[2] = {self == 0 ? xs : NULL, self == 1 ? ys : NULL};
    for (int rep = -1; rep < o->reps; rep++) {
        /* rep -1 records the calls (and warms up); the others replay fresh material */
        uint8_t m[32];
        s_master(m, rep);
        mpc_auth_src *gen = NULL, *src = NULL;
        if (rep < 0) {
            if (!(gen = mpc_auth_dealer_new(m, self, o->parties)) || !(src = rec = s_ar_new(self, o->parties, gen)))
                goto out;
        } else if (!(src = s_ar_prepare(rec, m))) {
            goto out;
        }
        mpc_mal_opts eo = {.stream = 200 + (uint64_t)(rep + 1), .timeout_ms = 120000};
        mpc_mal_engine *e = mpc_mal_engine_new(c, self, t, src, &eo);
        if (!e || s_barrier(t, o->parties, 600000 + (uint64_t)(rep + 1))) goto out;
        uint64_t b0 = t->bytes_sent;
        double t0 = s_now();
        int r = mpc_mal_run(e, in, err, sizeof err);
        double secs = s_now() - t0;
        if (r) {
            fprintf(stderr, "mpcbench: party %u: %s\n", (unsigned)self, err);
            goto out;
        }
        mpc_mal_stats st;
        mpc_mal_stats_get(e, &st);
        mpc_mal_engine_destroy(&e);
        if (rep >= 0) {
            printf("{\"node\": %u, \"rep\": %d, \"sec\": %.9f, \"prep_sec\": %.9f, \"input_sec\": %.9f, "
                   "\"layers_sec\": %.9f, \"output_sec\": %.9f, \"check_sec\": %.9f, \"rounds\": %u, "
                   "\"checks\": %llu, \"bytes_sent\": %llu, \"open_bytes_sent\": %llu, \"triples\": %llu, "
                   "\"masks\": %llu}\n",
                   (unsigned)self, rep, secs, ((s_areplay *)src->impl)->secs, st.input_us / 1e6, st.layers_us / 1e6,
                   st.output_us / 1e6, st.check_us / 1e6, (unsigned)st.rounds, (unsigned long long)st.checks,
                   (unsigned long long)(t->bytes_sent - b0), (unsigned long long)st.open_bytes_sent,
                   (unsigned long long)st.triples, (unsigned long long)st.masks);
            mpc_auth_src_destroy(&src);
        }
        if (gen) {
            mpc_auth_src_destroy(&gen);
            ((s_areplay *)rec->impl)->inner = NULL;
        }
    }
    rc = 0;
out:
    mpc_auth_src_destroy(&rec);
    mpc_circ_destroy(&c);
    free(xs);
    free(ys);
    return rc;
}

/* mpcbench authot: per repetition fresh sources, setup, then T authenticated triples. */
static int s_node_authot(const opts *o, mpc_transport *t, uint32_t self)
{
    mpc_auth_triples tr;
    uint64_t T = o->triples;
    tr.a = mpc_auth_alloc(T);
    tr.ma = mpc_auth_alloc(T);
    tr.b = mpc_auth_alloc(T);
    tr.mb = mpc_auth_alloc(T);
    tr.c = mpc_auth_alloc(T);
    tr.mc = mpc_auth_alloc(T);
    int rc = 1;
    if (!tr.a || !tr.ma || !tr.b || !tr.mb || !tr.c || !tr.mc) goto out;
    for (int rep = -1; rep < o->reps; rep++) {
        mpc_auth_ot_opts ao = {.timeout_ms = 120000, .chunk = (uint32_t)o->batch};
        mpc_auth_src *src = mpc_auth_ot_new(t, self, o->parties, MPC_STREAM_PREP_BIT | (3000 + (uint64_t)(rep + 1)), &ao);
        if (!src || s_barrier(t, o->parties, 3000 + (uint64_t)(rep + 1))) goto out;
        double t0 = s_now();
        int r = mpc_auth_ot_setup(src);
        double t1 = s_now();
        uint64_t b0 = t->bytes_sent;
        struct timespec c0, c1;   /* this thread's CPU: the protocol's work, not ZeroMQ's threads */
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c0);
        if (!r) r = mpc_auth_src_triples(src, T, &tr);
        double t2 = s_now();
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c1);
        double cpu = (double)(c1.tv_sec - c0.tv_sec) + (double)(c1.tv_nsec - c0.tv_nsec) / 1e9;
        if (r) {
            fprintf(stderr, "mpcbench: party %u: %s (%s)\n", (unsigned)self, mpc_strerror(r), mpc_auth_ot_error(src));
            mpc_auth_src_destroy(&src);
            goto out;
        }
        mpc_auth_ot_stats st;
        (void)mpc_auth_ot_stats_get(src, &st);
        mpc_auth_src_destroy(&src);
        if (rep >= 0)
            printf("{\"node\": %u, \"rep\": %d, \"setup_sec\": %.9f, \"triples_sec\": %.9f, \"triples\": %llu, "
                   "\"bytes_sent\": %llu, \"ot_sec\": %.9f, \"gilboa_sec\": %.9f, \"vole_sec\": %.9f, "
                   "\"check_sec\": %.9f, \"wait_sec\": %.9f, \"cpu_sec\": %.9f}\n",
                   (unsigned)self, rep, t1 - t0, t2 - t1, (unsigned long long)T,
                   (unsigned long long)(t->bytes_sent - b0), st.ot_ns / 1e9, st.gilboa_ns / 1e9, st.vole_ns / 1e9,
                   st.check_ns / 1e9, st.wait_ns / 1e9, cpu);
    }
    rc = 0;
out:
    free(tr.a); free(tr.ma); free(tr.b); free(tr.mb); free(tr.c); free(tr.mc);
    return rc;
}

static int s_node_exchange(const opts *o, mpc_transport *t, uint32_t self)
{
    uint64_t *buf = calloc(o->words ? o->words : 1, 8), *rx = calloc(o->words ? o->words : 1, 8);
    if (!buf || !rx) return 1;
    randombytes_buf(buf, o->words * 8);
    for (int rep = -1; rep < o->reps; rep++) {
        uint64_t job = 1000 + (uint64_t)(rep + 1);
        if (s_barrier(t, o->parties, 1000 + (uint64_t)(rep + 1))) return 1;
        double t0 = s_now();
        uint64_t per = (o->words + o->chunks - 1) / o->chunks;
        for (uint64_t k = 0; k < o->rounds; k++) {
            for (uint64_t q = 0, off = 0; off < o->words; q++, off += per) {
                uint64_t cnt = o->words - off < per ? o->words - off : per;
                for (uint32_t j = 0; j < o->parties; j++)
                    if (j != self && mpc_send(t, j, MPC_MSG_OPEN, job, k * o->chunks + q, buf + off, cnt)) return 1;
            }
            for (uint64_t q = 0, off = 0; off < o->words; q++, off += per) {
                uint64_t cnt = o->words - off < per ? o->words - off : per;
                for (uint32_t j = 0; j < o->parties; j++)
                    if (j != self && mpc_recv(t, j, MPC_MSG_OPEN, job, k * o->chunks + q, rx + off, cnt, 60000))
                        return 1;
            }
        }
        double secs = s_now() - t0;
        if (rep >= 0) printf("{\"node\": %u, \"rep\": %d, \"sec\": %.9f}\n", (unsigned)self, rep, secs);
    }
    free(buf);
    free(rx);
    return 0;
}

static int s_node_dealer(const opts *o, mpc_transport *t, uint32_t self)
{
    uint32_t n = o->parties;
    char err[256];
    for (int rep = -1; rep < o->reps; rep++) {
        uint64_t stream = MPC_STREAM_PREP_BIT | (2000 + (uint64_t)(rep + 1));
        if (self == n) {
            mpc_dealer_stats ds;
            memset(&ds, 0, sizeof ds);
            uint64_t b0 = t->bytes_sent;
            if (s_barrier(t, n + 1, 2000 + (uint64_t)(rep + 1))) return 1;
            if (mpc_dealer_serve(t, n, stream, 120000, &ds, err, sizeof err)) {
                fprintf(stderr, "mpcbench: dealer: %s\n", err);
                return 1;
            }
            if (rep >= 0)
                printf("{\"node\": %u, \"rep\": %d, \"dealer\": 1, \"bytes_sent\": %llu, \"triples\": %llu}\n",
                       (unsigned)self, rep, (unsigned long long)(t->bytes_sent - b0),
                       (unsigned long long)ds.triples);
            continue;
        }
        mpc_prep *p = mpc_prep_dealer_new(t, self, n, n, stream, 120000);
        uint64_t *buf = malloc(3 * o->batch * 8);
        if (!p || !buf) return 1;
        uint64_t b0 = t->bytes_sent, r0 = t->bytes_recv;
        if (s_barrier(t, n + 1, 2000 + (uint64_t)(rep + 1))) return 1;
        double t0 = s_now();
        for (uint64_t got = 0; got < o->triples; got += o->batch) {
            mpc_prep_req q = {.n_triples = o->batch};
            mpc_prep_out out = {.a = buf, .b = buf + o->batch, .c = buf + 2 * o->batch};
            int r = mpc_prep_fetch(p, &q, &out);
            if (r) {
                fprintf(stderr, "mpcbench: party %u: fetch: %s\n", (unsigned)self, mpc_strerror(r));
                return 1;
            }
        }
        double secs = s_now() - t0;
        mpc_prep_destroy(&p);   /* says goodbye */
        if (rep >= 0)
            printf("{\"node\": %u, \"rep\": %d, \"sec\": %.9f, \"bytes_sent\": %llu, \"bytes_recv\": %llu}\n",
                   (unsigned)self, rep, secs, (unsigned long long)(t->bytes_sent - b0),
                   (unsigned long long)(t->bytes_recv - r0));
        sodium_memzero(buf, 3 * o->batch * 8);
        free(buf);
    }
    return 0;
}

static int s_node(const opts *o, const s_mesh *m, uint32_t self)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    mpc_transport *t = s_node_transport(m, self);
    if (!t) return 1;
    int rc;
    if (!strcmp(o->mode, "online") && o->mal) rc = s_node_online_mal(o, t, self);
    else if (!strcmp(o->mode, "online")) rc = s_node_online(o, t, self);
    else if (!strcmp(o->mode, "exchange")) rc = s_node_exchange(o, t, self);
    else if (!strcmp(o->mode, "authot")) rc = s_node_authot(o, t, self);
    else rc = s_node_dealer(o, t, self);
    /* a last barrier so nobody tears down its sockets while a peer still reads */
    if (!rc && s_barrier(t, m->nodes, 999999)) rc = 1;
    printf("{\"node\": %u, \"vmhwm_kb\": %ld}\n", (unsigned)self, s_vmhwm_kb());
    mpc_transport_destroy(&t);
    return rc;
}

static int s_run_nodes(const opts *o, uint32_t nodes)
{
    s_mesh m = {.nodes = nodes, .direct = o->direct};
    pid_t pid[MAXN];
    for (uint32_t i = 0; i < nodes; i++) {
        if ((m.ports[i] = s_free_port(&m.port_locks[i])) < 0 || !(m.keys[i] = mpc_keypair_new()) ||
            (m.direct && (m.dports[i] = s_free_port(&m.dport_locks[i])) < 0))
            s_die("%s", "setup failed");
    }
    fflush(stdout);
    for (uint32_t i = 0; i < nodes; i++) {
        pid[i] = fork();
        if (pid[i] < 0) s_die("fork: %s", strerror(errno));
        if (pid[i] == 0) _exit(s_node(o, &m, i));
    }
    int bad = 0;
    for (uint32_t i = 0; i < nodes; i++) {
        int st;
        if (waitpid(pid[i], &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st)) bad = 1;
    }
    for (uint32_t i = 0; i < nodes; i++) {
        mpc_keypair_destroy(&m.keys[i]);
        close(m.port_locks[i]);
        if (m.direct) close(m.dport_locks[i]);
    }
    return bad;
}

static int s_eval_mode(const opts *o)
{
    int ltz = s_kind(o);
    mpc_circuit *c = s_circuit(o->parties, o->len, ltz ? 1 : o->depth, ltz);
    uint64_t *xs = malloc(o->len * 8), *ys = malloc(o->len * 8);
    if (!c || !xs || !ys) return 1;
    randombytes_buf(xs, o->len * 8);
    randombytes_buf(ys, o->len * 8);
    const uint64_t *in[2] = {xs, ys};
    char err[256];
    for (int rep = -1; rep < o->reps; rep++) {
        mpc_eval_result res;
        memset(&res, 0, sizeof res);
        double t0 = s_now();
        if (mpc_eval(c, in, &res, err, sizeof err)) s_die("eval: %s", err);
        double secs = s_now() - t0;
        mpc_eval_result_free(&res);
        if (rep >= 0) printf("{\"node\": 0, \"rep\": %d, \"sec\": %.9f}\n", rep, secs);
    }
    mpc_circ_destroy(&c);
    free(xs);
    free(ys);
    return 0;
}

static int s_zmq_mode(const opts *o)
{
    char err[256];
    for (int rep = -1; rep < o->reps; rep++) {
        double bps = 0;
        if (bench_zmq_loopback(o->bytes, o->msg, &bps, err, sizeof err)) s_die("zmq bench: %s", err);
        if (rep >= 0)
            printf("{\"node\": 0, \"rep\": %d, \"sec\": %.9f, \"bytes_per_sec\": %.1f}\n", rep,
                   (double)o->bytes / bps, bps);
    }
    return 0;
}

/* OT preprocessing in process (threads, in-memory transport): CPU-bound rate and exact bytes
 * party 0 sends per triple. */
static int s_otbench_mode(const opts *o)
{
    for (int rep = 0; rep < o->reps; rep++) {
        mpc_prep_ot_bench_result r;
        if (mpc_prep_ot_bench(o->parties, o->triples, 0, NULL, &r)) s_die("%s", "ot bench failed");
        printf("{\"node\": 0, \"rep\": %d, \"sec\": %.9f, \"triples_per_s\": %.1f, \"bytes_per_triple\": %.2f}\n",
               rep, r.secs, r.triples_per_s, r.bytes_per_triple);
    }
    return 0;
}

/* The CSV table reader (circuits/csv.c): a file of `len` rows of 10 columns (5 int, 5 fix),
 * read into column arrays; the floor is one pass of fread over the same file counting line
 * ends (what any reader must at least do). */
static int s_csv_mode(const opts *o)
{
    char path[] = "/tmp/mpcbench-csv.XXXXXX";
    int fd = mkstemp(path);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) s_die("%s", "cannot create the CSV file");
    fputs("i0,i1,i2,i3,i4,f0,f1,f2,f3,f4\n", f);
    for (uint64_t r = 0; r < o->len; r++)
        fprintf(f, "%llu,%llu,-%llu,%llu,%llu,%llu.25,-%llu.5,%llu.125,%llu.75,0.%llu\n", (unsigned long long)r,
                (unsigned long long)(r * 7), (unsigned long long)(r % 1000), (unsigned long long)(r * 31),
                (unsigned long long)(r % 2), (unsigned long long)(r % 5000), (unsigned long long)(r % 300),
                (unsigned long long)(r % 77), (unsigned long long)(r % 9), (unsigned long long)(r % 10));
    fclose(f);
    mpc_table_col cols[10];
    memset(cols, 0, sizeof cols);
    for (int c = 0; c < 10; c++) {
        snprintf(cols[c].name, sizeof cols[c].name, "%c%d", c < 5 ? 'i' : 'f', c % 5);
        cols[c].type = c < 5 ? MPC_T_INT : MPC_T_FIX;
    }
    static char buf[1 << 16];
    for (int rep = -1; rep < o->reps; rep++) {
        char err[256];
        uint64_t rows = 0;
        struct timespec c0, c1;
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
        double t0 = s_now();
        if (mpc_table_read(path, NULL, 16, cols, 10, &rows, err, sizeof err) != 0) s_die("csv: %s", err);
        double secs = s_now() - t0;
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
        double cpu = (double)(c1.tv_sec - c0.tv_sec) + (double)(c1.tv_nsec - c0.tv_nsec) * 1e-9;
        if (rows != o->len) s_die("%s", "csv: wrong row count");
        for (int c = 0; c < 10; c++) {
            free(cols[c].vals);
            cols[c].vals = NULL;
        }
        t0 = s_now();
        FILE *g = fopen(path, "rb");
        uint64_t lines = 0;
        size_t n;
        while (g && (n = fread(buf, 1, sizeof buf, g)) > 0)
            for (const char *p = buf; (p = memchr(p, '\n', (size_t)(buf + n - p))) != NULL; p++) lines++;
        if (g) fclose(g);
        double floor_secs = s_now() - t0;
        if (lines != o->len + 1) s_die("%s", "csv: the floor scan miscounted");
        if (rep >= 0)
            printf("{\"node\": 0, \"rep\": %d, \"sec\": %.9f, \"cpu_sec\": %.9f, \"floor_sec\": %.9f}\n", rep, secs,
                   cpu, floor_secs);
    }
    unlink(path);
    return 0;
}

static double s_cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Validity proofs: K = o->triples contributions of D = o->len elements in -1..1 fixed point
 * (wall and CPU time of each step); --l2 B adds the norm bound sum x^2 <= B (ring units);
 * --derived squares|dot|pairs adds derived entries (protocols/flp.h, mpc_flp_term). */
static int s_flp_mode(const opts *o)
{
    mpc_flp f;
    unsigned n = o->parties;
    uint64_t K = o->triples ? o->triples : 1, D = o->len;
    mpc_flp_term t = {0, 0, D, 1};
    unsigned nt = 1;
    if (!strcmp(o->derived, "none")) nt = 0;
    else if (!strcmp(o->derived, "dot")) t.each = 0;
    else if (!strcmp(o->derived, "pairs")) t = (mpc_flp_term){0, D / 2, D / 2, 1};
    else if (strcmp(o->derived, "squares") != 0) s_die("%s", "flp: --derived none|squares|dot|pairs");
    if (mpc_flp_init_derived(&f, D, -65536, 65536, o->l2, &t, nt, (unsigned)o->depth)) s_die("%s", "flp: bad circuit");
    size_t lsz = mpc_flp_input_share_size(&f, 0), hsz = mpc_flp_input_share_size(&f, 1);
    size_t psz = mpc_flp_public_share_size(n), msz = mpc_flp_prep_size(&f);
    int64_t *x = malloc(D * 8);
    uint64_t *meas = malloc(f.meas_len * 8), *out = malloc(f.out_len * 8);
    uint8_t *shares[MPC_FLP_MAX_PARTIES], *msgs[MPC_FLP_MAX_PARTIES], *pub = malloc(psz);
    uint8_t key[MPC_FLP_KEYBYTES], nonce[MPC_FLP_NONCEBYTES], h[32];
    if (!x || !meas || !out || !pub) s_die("%s", "flp: out of memory");
    for (unsigned i = 0; i < n; i++) {
        shares[i] = malloc(i ? hsz : lsz);
        msgs[i] = malloc(msz);
        if (!shares[i] || !msgs[i]) s_die("%s", "flp: out of memory");
    }
    randombytes_buf(key, sizeof key);
    for (uint64_t e = 0; e < D; e++) x[e] = (int64_t)randombytes_uniform(131073) - 65536;
    if (mpc_flp_encode(&f, x, meas)) s_die("%s", "flp: encode");
    for (int rep = -1; rep < o->reps; rep++) {
        double tp = 0, tl = 0, th = 0, td = 0, fp = 0, fv = 0, cp = 0, cl = 0, ch = 0, cd = 0;
        for (uint64_t c = 0; c < K; c++) {
            randombytes_buf(nonce, sizeof nonce);
            double c0 = s_cpu(), t0 = s_now();
            if (mpc_flp_shard(&f, n, 1, meas, nonce, shares, pub)) s_die("%s", "flp: shard");
            double t1 = s_now();
            cp += s_cpu() - c0;
            for (unsigned i = 0; i < n; i++) {
                double ca = s_cpu(), a = s_now();
                if (mpc_flp_prep(&f, n, i, key, nonce, pub, psz, shares[i], i ? hsz : lsz, out, msgs[i]))
                    s_die("%s", "flp: prep");
                double b = s_now(), cb = s_cpu();
                if (i == 0) tl += b - a, cl += cb - ca;
                else th += b - a, ch += cb - ca;
            }
            double c2 = s_cpu(), t2 = s_now();
            if (mpc_flp_prep_decide(&f, n, nonce, (const uint8_t *const *)msgs)) s_die("%s", "flp: rejected");
            double t3 = s_now();
            cd += s_cpu() - c2;
            /* floors: the bit checks in the clear, one hash of the leader's share */
            uint64_t r = 12345, rp = r, acc = 0;
            if (mpc_flp_encode(&f, x, meas)) s_die("%s", "flp: encode");
            for (uint64_t i = 0; i < f.bit_len; i++) {
                acc = mpc_f61_add(acc, mpc_f61_mul(rp, mpc_f61_mul(meas[i], mpc_f61_sub(meas[i], 1))));
                rp = mpc_f61_mul(rp, r);
            }
            if (acc) s_die("%s", "flp: the plaintext check failed");
            double t4 = s_now();
            crypto_generichash(h, sizeof h, shares[0], lsz, NULL, 0);
            double t5 = s_now();
            tp += t1 - t0;
            td += t3 - t2;
            fp += t4 - t3;
            fv += t5 - t4;
        }
        if (rep >= 0)
            printf("{\"node\": 0, \"rep\": %d, \"sec\": %.9f, \"prove_sec\": %.9f, \"leader_sec\": %.9f, "
                   "\"helper_sec\": %.9f, \"decide_sec\": %.9f, \"floor_prove_sec\": %.9f, \"floor_verify_sec\": %.9f, "
                   "\"leader_share_bytes\": %zu, \"helper_share_bytes\": %zu, \"public_share_bytes\": %zu, "
                   "\"prep_bytes\": %zu, \"proof_len\": %llu, \"meas_len\": %llu, \"prove_cpu_sec\": %.9f, "
                   "\"leader_cpu_sec\": %.9f, \"helper_cpu_sec\": %.9f, \"decide_cpu_sec\": %.9f}\n",
                   rep, (tp + tl + th + td) / (double)K, tp / (double)K, tl / (double)K,
                   th / (double)K / (double)(n - 1), td / (double)K, fp / (double)K, fv / (double)K, lsz, hsz, psz,
                   msz, (unsigned long long)f.proof_len, (unsigned long long)f.meas_len, cp / (double)K,
                   cl / (double)K, ch / (double)K / (double)(n - 1), cd / (double)K);
    }
    printf("{\"node\": 0, \"vmhwm_kb\": %ld}\n", s_vmhwm_kb());
    for (unsigned i = 0; i < n; i++) {
        free(shares[i]);
        free(msgs[i]);
    }
    free(pub);
    free(x);
    free(meas);
    free(out);
    return 0;
}

typedef struct {
    mpc_mem_hub *hub;
    mpc_join_in  in;
    mpc_join_out out;
    uint32_t     self;
    int          rc;
    char         err[160];
} s_joinparty;

static void *s_join_thread(void *arg)
{
    s_joinparty *p = arg;
    mpc_transport *t = mpc_mem_transport_new(p->hub, p->self);
    p->rc = t ? mpc_join_run(t, 1 - p->self, p->self ? MPC_JOIN_B : MPC_JOIN_A, 1, &p->in, &p->out, p->err,
                             sizeof p->err)
              : MPC_ERR_NOMEM;
    mpc_transport_destroy(&t);
    return NULL;
}

/* Keys "id-<v>" for the values v of ids. */
static void s_join_keys(const uint64_t *ids, uint64_t n, uint8_t **data, uint64_t **off)
{
    *data = malloc(24 * n + 1);
    *off = malloc((n + 1) * 8);
    if (!*data || !*off) s_die("%s", "join: out of memory");
    (*off)[0] = 0;
    for (uint64_t i = 0; i < n; i++)
        (*off)[i + 1] = (*off)[i] + (uint64_t)snprintf((char *)*data + (*off)[i], 24, "id-%llu", (unsigned long long)ids[i]);
}

static int s_join_mode(const opts *o)
{
    uint64_t n = o->len, *ida = malloc(n * 8), *idb = malloc(n * 8), *va = malloc(n * 8), want = 0;
    if (!ida || !idb || !va) s_die("%s", "join: out of memory");
    for (uint64_t i = 0; i < n; i++) {
        ida[i] = 2 * i;                              /* A: even ids */
        idb[i] = i < n / 2 ? 4 * i : 2 * (n + i) + 1; /* B: half of A's, then odd ids */
        va[i] = randombytes_random();
    }
    for (uint64_t i = 0; i < n / 2; i++) want += va[2 * i];
    uint8_t *ka, *kb;
    uint64_t *oa, *ob;
    s_join_keys(ida, n, &ka, &oa);
    s_join_keys(idb, n, &kb, &ob);
    for (int rep = 0; rep < o->reps; rep++) {
        s_joinparty p[2];
        memset(p, 0, sizeof p);
        p[0].in = (mpc_join_in){.rows = n, .key_data = ka, .key_off = oa, .cols_a = 1, .share_a = va,
                                .timeout_ms = 600000};
        p[1].in = (mpc_join_in){.rows = n, .key_data = kb, .key_off = ob, .cols_a = 1, .timeout_ms = 600000};
        randombytes_buf(p[0].in.salt, 32);
        memcpy(p[1].in.salt, p[0].in.salt, 32);
        mpc_mem_hub *hub = mpc_mem_hub_new(2, 600000);
        if (!hub) s_die("%s", "join: hub");
        pthread_t th[2];
        struct timespec c0, c1;
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
        double t0 = s_now();
        for (uint32_t i = 0; i < 2; i++) {
            p[i].hub = hub;
            p[i].self = i;
            if (pthread_create(&th[i], NULL, s_join_thread, &p[i])) s_die("%s", "join: thread");
        }
        for (int i = 0; i < 2; i++) pthread_join(th[i], NULL);
        double secs = s_now() - t0;
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
        double cpu = (double)(c1.tv_sec - c0.tv_sec) + (double)(c1.tv_nsec - c0.tv_nsec) * 1e-9;
        mpc_mem_hub_destroy(&hub);
        if (p[0].rc || p[1].rc) s_die("join: %s", p[0].rc ? p[0].err : p[1].err);
        uint64_t sum = 0, cnt = 0, rows = p[0].out.rows;
        for (uint64_t j = 0; j < rows; j++) {
            uint64_t m = p[0].out.share[j] + p[1].out.share[j];
            cnt += m;
            sum += m * (p[0].out.share[rows + j] + p[1].out.share[rows + j]);
        }
        if (cnt != n / 2 || p[0].out.intersection != n / 2 || sum != want) s_die("%s", "join: wrong result");
        printf("{\"node\": 0, \"rep\": %d, \"sec\": %.9f, \"cpu_sec\": %.3f, \"bytes_per_key\": %.1f, "
               "\"intersection\": %llu, \"psi_sec_a\": %.3f, \"psi_sec_b\": %.3f, \"osn_sec_a\": %.3f, "
               "\"osn_sec_b\": %.3f}\n", rep, secs, cpu, (double)(p[0].out.bytes_sent + p[1].out.bytes_sent) / (double)n, (unsigned long long)cnt,
               (double)p[0].out.psi_ns * 1e-9, (double)p[1].out.psi_ns * 1e-9, (double)p[0].out.osn_ns * 1e-9,
               (double)p[1].out.osn_ns * 1e-9);
        fflush(stdout);
        mpc_join_out_free(&p[0].out);
        mpc_join_out_free(&p[1].out);
    }
    free(ida); free(idb); free(va); free(ka); free(kb); free(oa); free(ob);
    printf("{\"node\": 0, \"vmhwm_kb\": %ld}\n", s_vmhwm_kb());
    return 0;
}

int main(int argc, char **argv)
{
    opts o = {.parties = 2, .len = 1, .depth = 1, .words = 2, .rounds = 1, .chunks = 1, .triples = 100000,
              .batch = 100000, .bytes = 16 << 20, .msg = 16 << 20, .reps = 3, .kind = "mul", .derived = "none", .direct = 0};
    if (argc < 2) s_die("%s", "usage: mpcbench online|authot|exchange|dealer|zmq|eval|otbench|csv|flp|join [--option value]...");
    o.mode = argv[1];
    for (int i = 2; i + 1 < argc; i += 2) {
        const char *k = argv[i], *v = argv[i + 1];
        uint64_t u = strtoull(v, NULL, 10);
        if (!strcmp(k, "--parties")) o.parties = (uint32_t)u;
        else if (!strcmp(k, "--len")) o.len = u;
        else if (!strcmp(k, "--depth")) o.depth = u;
        else if (!strcmp(k, "--words")) o.words = u;
        else if (!strcmp(k, "--rounds")) o.rounds = u;
        else if (!strcmp(k, "--chunks")) o.chunks = u ? u : 1;
        else if (!strcmp(k, "--triples")) o.triples = u;
        else if (!strcmp(k, "--batch")) o.batch = u;
        else if (!strcmp(k, "--bytes")) o.bytes = u;
        else if (!strcmp(k, "--msg")) o.msg = u;
        else if (!strcmp(k, "--reps")) o.reps = (int)u;
        else if (!strcmp(k, "--kind")) o.kind = v;
        else if (!strcmp(k, "--mal")) o.mal = (int)u;
        else if (!strcmp(k, "--direct")) o.direct = u != 0;
        else if (!strcmp(k, "--l2")) o.l2 = u;
        else if (!strcmp(k, "--derived")) o.derived = v;
        else s_die("unknown option %s", k);
    }
    if (sodium_init() < 0) s_die("%s", "sodium_init failed");
    if (o.parties < 2 || o.parties > 16 || !o.len || !o.depth || !o.batch || o.reps < 1)
        s_die("%s", "bad options");
    if (!strcmp(o.mode, "authot")) {
        if (o.batch > 16384) o.batch = 0;   /* --batch: triples per chunk (default of auth_ot.h) */
        return s_run_nodes(&o, o.parties);
    }
    if (!strcmp(o.mode, "online") || !strcmp(o.mode, "exchange")) return s_run_nodes(&o, o.parties);
    if (!strcmp(o.mode, "dealer")) return s_run_nodes(&o, o.parties + 1);
    if (!strcmp(o.mode, "eval")) return s_eval_mode(&o);
    if (!strcmp(o.mode, "zmq")) return s_zmq_mode(&o);
    if (!strcmp(o.mode, "otbench")) return s_otbench_mode(&o);
    if (!strcmp(o.mode, "csv")) return s_csv_mode(&o);
    if (!strcmp(o.mode, "flp")) return s_flp_mode(&o);
    if (!strcmp(o.mode, "join")) return s_join_mode(&o);
    if (!strcmp(o.mode, "contrib") || !strcmp(o.mode, "contrib-valid") || !strcmp(o.mode, "contrib-valid-norm")) {
        /* --triples: contributions, --len; -norm: with the norm bound 32 (values in -1..1 at 16
         * fractional bits: B² = 2^42 in ring units, above any D·1 for D ≤ 1024, so all valid) */
        int rc = !strcmp(o.mode, "contrib")       ? bench_contrib(o.triples, o.len, o.reps)
                 : !strcmp(o.mode, "contrib-valid") ? bench_contrib_valid(o.triples, o.len, o.reps, 0)
                                                    : bench_contrib_valid(o.triples, o.len, o.reps, UINT64_C(1) << 42);
        if (rc == 0) printf("{\"node\": 0, \"vmhwm_kb\": %ld}\n", s_vmhwm_kb());
        return rc;
    }
    s_die("unknown mode %s", o.mode);
    return 2;
}
