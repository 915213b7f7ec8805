/* server.c — wiring of one mpcd process (server.h). */
#include "server.h"

#include "budget.h"

#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "clientsock.h"
#include "clock.h"
#include "http.h"
#include "jobs.h"
#include "audit.h"
#include "dshandlers.h"
#include "fdguard.h"
#include "keys.h"
#include "log.h"
#include "mpc_err.h"
#include "notify.h"
#include "transport_zmq.h"
#include "worker.h"
#include "contrib_daemon.h"

struct mpcd_server {
    mpcd_config      cfg;
    mpc_keypair     *kp;
    mpc_transport   *mesh;
    mpcd_clientsock *clients;
    mpcd_jobs       *jobs;
    mpcd_pool       *pool;
    mpcd_http       *http;             /* the metrics endpoint, or NULL */
    mpcd_audit      *audit;            /* the audit log (state_dir set), or NULL */
    mpcd_ledger     *ledger;           /* the privacy budget ledger (state_dir set), or NULL */
    mpcd_ds_store   *datasets;         /* the stored datasets' shares (state_dir set), or NULL */
    mpcd_worker      worker;
    mpcd_collector   collector;        /* contribution collections (contrib_daemon.h) */
    pthread_t        worker_thread;
    int              worker_running;
    atomic_int       stop_worker;      /* set by the main thread, read by the worker */
    int              keep_log_level;   /* --log-level given: a reload leaves the level */
    atomic_int       partial_start;    /* the worker started without every peer; the main
                                        * loop announces when the last one connects */
};

static int s_mesh_idle(void *ctx, int timeout_ms)
{
    return mpc_transport_zmq_service(ctx, timeout_ms);
}

static void s_wake_worker(void *ctx)
{
    mpc_transport_zmq_wake(ctx);
}

static int s_mesh_peer_up(void *ctx, uint32_t node)
{
    return mpc_transport_zmq_peer_up(ctx, node);
}

enum { S_START_WAIT_MS = 10000 };   /* longest the worker waits for every peer at start */

/* Main thread: after a start without every peer, says so once the last one is connected
 * (the peers' states are atomics of the transport, readable from any thread). */
static void s_announce_full_mesh(mpcd_server *s)
{
    if (!atomic_load(&s->partial_start)) return;
    uint32_t nodes = s->worker.dealer != UINT32_MAX ? s->cfg.n_parties + 1 : s->cfg.n_parties;
    for (uint32_t i = 0; i < nodes; i++) {
        int state = MPC_ZMQ_PEER_DOWN;
        uint64_t since = 0;
        if (i == s->cfg.self) continue;
        mpc_transport_zmq_peer_info(s->mesh, i, &state, &since);
        if (state != MPC_ZMQ_PEER_UP) return;
    }
    atomic_store(&s->partial_start, 0);
    mpcd_info(NULL, "all peers connected");
    mpcd_notify_status("serving: all %u peers connected", (unsigned)(nodes - 1));
}

enum { S_LANES_WAIT_MS = 3000 };   /* longest the worker waits for the direct lanes at start */

/* Worker, once the mesh is ready (or the start wait is over): the direct lanes with the
 * parties, and the dealer, that configure one (docs/transport.md, "Direct lanes").  A lane
 * missing now comes up later (the transport makes it when the peer is back); until then
 * ZeroMQ carries everything. */
static void s_direct_lanes(mpcd_server *s)
{
    const mpcd_config *c = &s->cfg;
    int dealer = s->worker.is_dealer;
    if (!(dealer ? c->dealer_direct_endpoint : c->parties[c->self].direct_endpoint)[0]) return;
    uint32_t n = 0;
    for (uint32_t i = 0; i < c->n_parties; i++) n += i != c->self && c->parties[i].direct_endpoint[0];
    n += !dealer && s->worker.dealer != UINT32_MAX && c->dealer_direct_endpoint[0];
    if (!n) return;
    if (mpc_transport_zmq_direct(s->mesh, S_LANES_WAIT_MS) == 0)
        mpcd_info(NULL, "direct lanes up with %u peer%s", (unsigned)n, n == 1 ? "" : "s");
    else
        mpcd_warn(NULL, "%s", mpc_transport_zmq_last_error(s->mesh));
}

static void *s_worker_main(void *arg)
{
    mpcd_server *s = arg;
    /* Wait for the mesh (peers may start later); jobs queue meanwhile.  A party that is
     * down does not keep the others from working: after S_START_WAIT_MS the worker starts
     * with the peers it has (jobs of the missing party cannot run until it is back, and
     * sequencing is done by the lowest-indexed party that is up; docs/daemon.md). */
    uint64_t last_note = 0, t0 = mpc_now_ms();
    while (!atomic_load(&s->stop_worker)) {
        if (mpc_transport_zmq_ready(s->mesh, 1000) == 0) {
            mpcd_info(NULL, "all peers connected");
            uint32_t nodes = s->worker.dealer != UINT32_MAX ? s->cfg.n_parties + 1 : s->cfg.n_parties;
            mpcd_notify_ready("serving: all %u peers connected", (unsigned)(nodes - 1));
            break;
        }
        if (mpc_now_ms() - t0 >= S_START_WAIT_MS) {
            mpcd_warn(NULL, "starting without every peer: %s", mpc_transport_zmq_last_error(s->mesh));
            /* It serves (jobs of the parties that are up run): ready for systemd too. */
            mpcd_notify_ready("serving without every peer: %s", mpc_transport_zmq_last_error(s->mesh));
            atomic_store(&s->partial_start, 1);
            break;
        }
        if (mpc_now_ms() - last_note > 10000) {
            mpcd_info(NULL, "waiting for peers: %s", mpc_transport_zmq_last_error(s->mesh));
            mpcd_notify_status("waiting for peers: %s", mpc_transport_zmq_last_error(s->mesh));
            last_note = mpc_now_ms();
        }
    }
    s_direct_lanes(s);
    mpcd_worker_run(&s->worker);
    return NULL;
}

/* Refused handshakes on the peer port: logged through the rate limiter (log.h), so a flood of
 * them gives a line and a count per repeat interval (a refused party itself retries at most
 * once a second, less and less often: docs/transport.md, "Key rotation and reconnects"). */
static void s_peer_refused(void *ctx, mpc_zap_refusal why, const char *address)
{
    (void)ctx;
    mpcd_metrics_refused(0, why);
    if (why == MPC_ZAP_UNKNOWN_KEY)
        mpcd_warn(NULL, "a connection to the peer port was refused (unknown key, from %s): a party restarted "
                  "with a new key? list it as next_public_key of that [party] and reload (docs/daemon.md, "
                  "\"Rotating a key\")", address[0] ? address : "?");
    else
        mpcd_warn(NULL, "a connection to the peer port was refused (not a CURVE client of this mesh, from %s)",
                  address[0] ? address : "?");
}

static int s_peer_key(const mpcd_config *cfg, const char *z85, uint32_t line, const char *who, const char *field,
                      uint8_t out[MPC_KEY_BYTES], char *err, size_t errlen)
{
    if (mpc_key_from_z85(out, z85) != 0) {
        snprintf(err, errlen, "%s:%u: error: %s has an invalid %s", cfg->path, (unsigned)line, who, field);
        return MPC_ERR_CONFIG;
    }
    return 0;
}

/* The metrics endpoint (http.h), reading the job table, the mesh and the pool. */
static int s_start_metrics(mpcd_server *s, char *err, size_t errlen)
{
    mpcd_metrics_source src;
    memset(&src, 0, sizeof src);
    src.jobs = s->jobs;
    src.mesh = s->mesh;
    src.pool = s->pool;
    src.self = s->cfg.self;
    src.n_nodes = s->worker.dealer != UINT32_MAX ? s->cfg.n_parties + 1 : s->cfg.n_parties;
    for (uint32_t i = 0; i < src.n_nodes; i++)
        snprintf(src.names[i], sizeof src.names[i], "%s", i < s->cfg.n_parties ? s->cfg.parties[i].name : "dealer");
    int rc = mpcd_http_start(&s->http, s->cfg.metrics_endpoint, &src, err, errlen);
    if (rc == 0)
        mpcd_info(NULL, "metrics endpoint %s listening on port %u: GET /metrics, GET /healthz", s->cfg.metrics_endpoint,
                  mpcd_http_port(s->http));
    return rc;
}

/* The mesh nodes' keys from cfg: the other parties' public_key and next_public_key (next:
 * all zero when absent), then the dealer's when there is one. */
static int s_mesh_keys(const mpcd_config *cfg, uint8_t pub[][MPC_KEY_BYTES], uint8_t next[][MPC_KEY_BYTES],
                       char *err, size_t errlen)
{
    int has_dealer = cfg->role == MPCD_ROLE_DEALER || cfg->preprocessing == MPCD_PREP_DEALER;
    for (uint32_t i = 0; i < cfg->n_parties; i++) {
        const mpcd_party_conf *p = &cfg->parties[i];
        memset(next[i], 0, MPC_KEY_BYTES);
        if (i == cfg->self) continue;
        int rc = s_peer_key(cfg, p->public_key, p->line, p->name, "public_key", pub[i], err, errlen);
        if (rc == 0 && p->next_public_key[0])
            rc = s_peer_key(cfg, p->next_public_key, p->line, p->name, "next_public_key", next[i], err, errlen);
        if (rc != 0) return rc;
    }
    if (has_dealer && cfg->role != MPCD_ROLE_DEALER) {
        memset(next[cfg->n_parties], 0, MPC_KEY_BYTES);
        return s_peer_key(cfg, cfg->dealer_public_key, 0, "the dealer", "public key", pub[cfg->n_parties], err,
                          errlen);
    }
    return 0;
}

/* Opens state_dir/audit.log with the audit key; a damaged log stops the start (docs/governance.md). */
static int s_open_audit(mpcd_server *s, char *err, size_t errlen)
{
    char path[MPCD_PATH_MAX + 16], e[768];
    mpc_keypair *akp = NULL;
    snprintf(path, sizeof path, "%s/audit.log", s->cfg.state_dir);
    int rc = mpc_keys_load_secret_kind(&akp, s->cfg.audit_key_file, MPC_KEY_SIGN, e, sizeof e);
    if (rc == 0) rc = mpcd_audit_open(&s->audit, path, s->cfg.name, akp, e, sizeof e);
    mpc_keypair_destroy(&akp);
    if (rc != 0) {
        snprintf(err, errlen, "%s: error: audit log: %s", s->cfg.path, e);
        return MPC_ERR_CONFIG;
    }
    if (mpcd_audit_head_advanced(s->audit))
        mpcd_warn(NULL, "audit log %s: its head file was one record behind (the daemon stopped between writing "
                  "record %llu and its head): advanced", path, (unsigned long long)mpcd_audit_seq(s->audit));
    mpcd_info(NULL, "audit log %s: %llu records", path, (unsigned long long)mpcd_audit_seq(s->audit));
    return 0;
}

/* Opens state_dir/datasets with the data key (made on the first start; docs/datasets.md). */
static int s_open_datasets(mpcd_server *s, char *err, size_t errlen)
{
    char key[MPCD_PATH_MAX + 16], e[1024];
    if (s->cfg.data_key_file[0]) snprintf(key, sizeof key, "%s", s->cfg.data_key_file);
    else snprintf(key, sizeof key, "%s/data.key", s->cfg.state_dir);
    int created = 0;
    int rc = mpcd_ds_store_open(s->cfg.state_dir, key, &s->datasets, &created, e, sizeof e);
    if (rc != 0) {
        snprintf(err, errlen, "%s: error: datasets: %s", s->cfg.path, e);
        return MPC_ERR_CONFIG;
    }
    if (created) mpcd_warn(NULL, "made a new data key %s for the datasets: keep a copy apart from state_dir", key);
    mpcd_ds_set_store(s->datasets);
    return 0;
}

/* Opens state_dir/dp_budget.ledger; a damaged ledger stops the start (docs/governance.md,
 * "Privacy budget"): it is never reset silently. */
static int s_open_ledger(mpcd_server *s, char *err, size_t errlen)
{
    char path[MPCD_PATH_MAX + 32], e[1024];
    snprintf(path, sizeof path, "%s/dp_budget.ledger", s->cfg.state_dir);
    if (mpcd_ledger_open(path, NULL, &s->ledger, e, sizeof e) != 0) {
        snprintf(err, errlen, "%s: error: %s", s->cfg.path, e);
        return MPC_ERR_CONFIG;
    }
    mpcd_ledger_set_global(s->ledger);
    mpcd_info(NULL, "privacy budget ledger %s: %u budgets", path, (unsigned)mpcd_ledger_count(s->ledger));
    return 0;
}

int mpcd_server_new(mpcd_server **out, const mpcd_config *cfg, char *err, size_t errlen)
{
    *out = NULL;
    mpcd_server *s = calloc(1, sizeof *s);
    if (!s) return MPC_ERR_NOMEM;
    s->cfg = *cfg;
    cfg = &s->cfg;
    int rc = mpc_keys_load_secret(&s->kp, cfg->secret_key_file, err, errlen);
    if (rc != 0) goto fail;
    uint8_t pub[MPC_KEY_BYTES];
    rc = mpc_keys_load_public(pub, cfg->public_key_file, err, errlen);
    if (rc != 0) goto fail;
    if (sodium_memcmp(pub, mpc_keypair_public(s->kp), MPC_KEY_BYTES) != 0) {
        snprintf(err, errlen, "%s: error: %s and %s are not one key pair", cfg->path, cfg->public_key_file,
                 cfg->secret_key_file);
        rc = MPC_ERR_CONFIG;
        goto fail;
    }

    int dealer = cfg->role == MPCD_ROLE_DEALER;
    int has_dealer = dealer || cfg->preprocessing == MPCD_PREP_DEALER;
    if (!dealer && cfg->state_dir[0] && (rc = s_open_audit(s, err, errlen)) != 0) goto fail;
    if (!dealer && cfg->state_dir[0] && (rc = s_open_datasets(s, err, errlen)) != 0) goto fail;
    if (!dealer && cfg->state_dir[0] && (rc = s_open_ledger(s, err, errlen)) != 0) goto fail;
    mpc_zmq_config zc;
    mpc_zmq_config_init(&zc);
    zc.self = cfg->self;
    zc.n = cfg->n_parties + (has_dealer ? 1 : 0);
    zc.bind = cfg->peer_endpoint;
    zc.keys = s->kp;
    for (uint32_t i = 0; i < cfg->n_parties; i++)
        if (i != cfg->self) zc.peer_endpoints[i] = cfg->parties[i].endpoint;
    if (has_dealer && !dealer) zc.peer_endpoints[cfg->n_parties] = cfg->dealer_endpoint;
    rc = s_mesh_keys(cfg, zc.peer_public, zc.peer_next, err, errlen);
    if (rc != 0) goto fail;
    zc.max_msg_bytes = (uint64_t)cfg->max_message_bytes;
    zc.timeout_ms = (int)cfg->peer_timeout_ms;
    zc.heartbeat_ivl_ms = (int)cfg->heartbeat_ms;
    zc.heartbeat_timeout_ms = 3 * (int)cfg->heartbeat_ms;
    zc.on_refused = s_peer_refused;
    /* Direct lanes: a party binds its own [party] direct_endpoint, the dealer its
     * dealer_direct_endpoint; the lanes' other ends are the parties' direct_endpoint and, for a
     * party with preprocessing = dealer, the dealer's. */
    const char *own_lane = dealer ? cfg->dealer_direct_endpoint : cfg->parties[cfg->self].direct_endpoint;
    if (own_lane[0]) {
        zc.direct_bind = own_lane;
        for (uint32_t i = 0; i < cfg->n_parties; i++)
            if (i != cfg->self && cfg->parties[i].direct_endpoint[0]) zc.peer_direct[i] = cfg->parties[i].direct_endpoint;
        if (has_dealer && !dealer && cfg->dealer_direct_endpoint[0])
            zc.peer_direct[cfg->n_parties] = cfg->dealer_direct_endpoint;
    }
    rc = mpc_transport_zmq_new(&s->mesh, &zc, err, errlen);
    if (rc != 0) goto fail;

    if (!dealer) {
        s->jobs = mpcd_jobs_new((uint32_t)cfg->max_queued_jobs);
        if (!s->jobs) {
            rc = MPC_ERR_NOMEM;
            goto fail;
        }
        rc = mpcd_clientsock_new(&s->clients, cfg, s->kp, err, errlen);
        if (rc != 0) goto fail;
    }

    /* The pool holds semi-honest triples: a malicious daemon makes authenticated material per job. */
    if (!dealer && cfg->preprocessing == MPCD_PREP_OT && cfg->pool_triples > 0 && cfg->security != MPCD_SEC_MALICIOUS) {
        s->pool = mpcd_pool_new((uint64_t)cfg->pool_triples, (uint64_t)cfg->pool_chunk);
        if (!s->pool) {
            snprintf(err, errlen, "cannot allocate a pool of %lld triples", (long long)cfg->pool_triples);
            rc = MPC_ERR_NOMEM;
            goto fail;
        }
    }
    mpcd_worker *w = &s->worker;
    w->n_parties = cfg->n_parties;
    w->self = cfg->self;
    w->dealer = has_dealer ? cfg->n_parties : UINT32_MAX;
    w->is_dealer = dealer;
    w->prep_mode = cfg->preprocessing;
    w->security = cfg->security;
    w->peer_timeout_ms = (int)cfg->peer_timeout_ms;
    w->dead_peer_ms = 3 * (int)cfg->heartbeat_ms;   /* = zc.heartbeat_timeout_ms */
    w->input_timeout_ms = (int)cfg->input_timeout_ms;
    w->job_timeout_ms = cfg->job_timeout_ms;
    w->max_running = (uint32_t)cfg->max_running_jobs;
    for (uint32_t i = 0; i < cfg->n_parties; i++) snprintf(w->names[i], sizeof w->names[i], "%s", cfg->parties[i].name);
    snprintf(w->names[cfg->n_parties], sizeof w->names[0], "%s", dealer ? cfg->name : "the dealer");
    w->mesh = s->mesh;
    w->jobs = s->jobs;
    w->pool = s->pool;
    w->audit = s->audit;
    for (uint32_t i = 0; i < cfg->n_parties; i++)
        if (cfg->parties[i].audit_public_key[0] && mpc_key_from_z85(w->audit_pub[i], cfg->parties[i].audit_public_key) == 0)
            w->audit_pub_mask |= 1u << i;
    if (s->audit) {
        /* this party's own key: the one it signs with */
        mpcd_audit_own_public(s->audit, w->audit_pub[cfg->self]);
        w->audit_pub_mask |= 1u << cfg->self;
        mpcd_jobs_set_audit(s->jobs, 1);
    }
    w->idle = s_mesh_idle;
    w->peer_up = s_mesh_peer_up;
    w->idle_ctx = s->mesh;
    if (s->jobs) mpcd_jobs_set_waker(s->jobs, s_wake_worker, s->mesh);   /* a job ready here ends its wait */
    w->stop = &s->stop_worker;
    if (pthread_create(&s->worker_thread, NULL, s_worker_main, s) != 0) {
        snprintf(err, errlen, "cannot start the job worker");
        rc = MPC_ERR_NOMEM;
        goto fail;
    }
    s->worker_running = 1;
    if (!dealer && cfg->contributor_token_key_file[0]) {   /* contribution collections */
        if (mpcd_contrib_key_load(cfg->contributor_token_key_file, err, errlen) != 0) {
            rc = MPC_ERR_CONFIG;
            goto fail;
        }
        mpcd_collector *x = &s->collector;
        x->mesh = s->mesh;
        x->jobs = s->jobs;
        x->self = cfg->self;
        x->n_parties = cfg->n_parties;
        x->batch_ms = (uint64_t)cfg->contrib_batch_ms;
        x->peer_timeout_ms = (uint64_t)cfg->peer_timeout_ms;
        for (uint32_t i = 0; i < cfg->n_parties; i++) snprintf(x->names[i], sizeof x->names[i], "%s", cfg->parties[i].name);
        if (mpcd_collector_start(x) != 0) {
            snprintf(err, errlen, "cannot start the contribution collector");
            rc = MPC_ERR_NOMEM;
            goto fail;
        }
        mpcd_info(NULL, "contribution collections served (token key %s)", cfg->contributor_token_key_file);
    }
    if (cfg->metrics_endpoint[0] && (rc = s_start_metrics(s, err, errlen)) != 0) goto fail;
    mpcd_info(NULL, "%s %s listening: peers on %s%s%s, %u parties%s", dealer ? "dealer" : "party", cfg->name,
              mpc_transport_zmq_endpoint(s->mesh), dealer ? "" : ", clients on ",
              dealer ? "" : mpcd_clientsock_endpoint(s->clients), (unsigned)cfg->n_parties,
              has_dealer && !dealer ? ", preprocessing from the dealer (semi-trusted)" : "");
    *out = s;
    return 0;
fail:
    mpcd_server_destroy(&s);
    return rc;
}

/* The peers as the mesh's monitors last saw them, for STATUS (the other parties, then the
 * dealer if there is one). */
static void s_peers(const mpcd_server *s, mpcd_status_extra *extra)
{
    uint64_t now = mpc_now_ms();
    uint32_t nodes = s->worker.dealer != UINT32_MAX ? s->cfg.n_parties + 1 : s->cfg.n_parties;
    for (uint32_t i = 0; i < nodes && extra->n_peers < MPC_CWIRE_MAX_PEERS; i++) {
        if (i == s->cfg.self) continue;
        mpc_cwire_peer *p = &extra->peers[extra->n_peers++];
        int state;
        uint64_t since;
        mpc_transport_zmq_peer_info(s->mesh, i, &state, &since);
        snprintf(p->name, sizeof p->name, "%s", i < s->cfg.n_parties ? s->cfg.parties[i].name : "dealer");
        p->state = state == MPC_ZMQ_PEER_UP ? MPC_PEER_UP : state == MPC_ZMQ_PEER_REFUSED ? MPC_PEER_REFUSED
                                                                                          : MPC_PEER_DOWN;
        p->for_ms = now > since ? now - since : 0;
    }
}

void mpcd_server_keep_log_level(mpcd_server *s)
{
    s->keep_log_level = 1;
}

static void s_reload_note(void *ctx, const char *text)
{
    (void)ctx;
    mpcd_warn(NULL, "reload: %s", text);
}

/* The running daemon's own public key against its public_key_file now: a new key pair needs a
 * restart (the sockets were made with the old one). */
static void s_own_key_note(const mpcd_server *s)
{
    uint8_t pub[MPC_KEY_BYTES];
    char err[512];
    if (mpc_keys_load_public(pub, s->cfg.public_key_file, err, sizeof err) != 0)
        mpcd_warn(NULL, "reload: %s (the running key pair stays)", err);
    else if (sodium_memcmp(pub, mpc_keypair_public(s->kp), MPC_KEY_BYTES) != 0)
        s_reload_note(NULL, "the key in `public_key_file` changed; restart needed");
}

/* A reload (SIGHUP): reads the file again and applies what can change while the daemon runs
 * (docs/daemon.md, "Reloading the configuration").  Runs on the main thread, which alone reads
 * s->cfg (the client endpoint and the request handlers); what other threads read is handed
 * over through their own locks or atomics: the ZAP handlers' key tables (zap.h), the mesh's
 * peer keys (transport_zmq.h), the worker's timeouts, the job table's bound, the log level. */
static void s_reload(mpcd_server *s)
{
    char err[1024];
    mpcd_config *next = calloc(1, sizeof *next);
    uint8_t (*pub)[MPC_KEY_BYTES] = calloc(2 * (MPC_MAX_PARTIES + 1), MPC_KEY_BYTES);
    uint8_t (*nxt)[MPC_KEY_BYTES] = pub ? pub + MPC_MAX_PARTIES + 1 : NULL;
    int rc = next && pub ? 0 : MPC_ERR_NOMEM;
    if (rc) snprintf(err, sizeof err, "out of memory");
    if (rc == 0 && (mpcd_config_load(s->cfg.path, next, err, sizeof err) != 0 ||
                    mpcd_config_merge(&s->cfg, next, s_reload_note, NULL, err, sizeof err) != 0))
        rc = MPC_ERR_CONFIG;
    if (rc == 0) rc = s_mesh_keys(next, pub, nxt, err, sizeof err);
    if (rc == 0 && s->clients) rc = mpcd_clientsock_set_keys(s->clients, next, err, sizeof err);
    if (rc == 0 && (rc = mpc_transport_zmq_set_peer_keys(s->mesh, (const uint8_t (*)[MPC_KEY_BYTES])pub,
                                                         (const uint8_t (*)[MPC_KEY_BYTES])nxt, err,
                                                         sizeof err)) != 0) {
        char ignored[256];
        if (s->clients) (void)mpcd_clientsock_set_keys(s->clients, &s->cfg, ignored, sizeof ignored);
    }
    if (rc != 0) {
        mpcd_error(NULL, "reload refused, the running configuration stays: %s", err);
    } else {
        s_own_key_note(s);
        atomic_store(&s->worker.input_timeout_ms, (int)next->input_timeout_ms);
        atomic_store(&s->worker.job_timeout_ms, next->job_timeout_ms);
        if (s->jobs) mpcd_jobs_set_max(s->jobs, (uint32_t)next->max_queued_jobs);
        if (!s->keep_log_level) mpcd_log_set_level((mpcd_log_level)next->log_level);
        mpcd_log_set_repeat_interval((uint64_t)next->log_repeat_ms);
        s->cfg = *next;
        mpcd_info(NULL, "reload: configuration from %s applied: %u clients, %s%u allowed programs, %u program approvals",
                  s->cfg.path, (unsigned)s->cfg.n_clients, s->cfg.allow_any_program ? "any program (allow_any_program), " : "",
                  (unsigned)s->cfg.n_allowed, (unsigned)s->cfg.n_approvals);
    }
    if (next) sodium_memzero(next, sizeof *next);
    free(next);
    free(pub);
}

/* Connections the accept guard closed for want of a descriptor (fdguard.h): one warning per
 * 10 s at most while it happens. */
static void s_note_accept_dropped(void)
{
    static uint64_t seen, at;
    uint64_t n = mpcd_fdguard_dropped();
    if (n == seen || mpc_now_ms() - at < 10000) return;
    struct rlimit rl;
    unsigned long long lim = getrlimit(RLIMIT_NOFILE, &rl) == 0 ? (unsigned long long)rl.rlim_cur : 0;
    mpcd_warn(NULL, "out of descriptors: %llu connections closed as they came (%llu so far; open files limit %llu)",
              (unsigned long long)(n - seen), (unsigned long long)n, lim);
    seen = n;
    at = mpc_now_ms();
}

int mpcd_server_run(mpcd_server *s, const atomic_int *stop, atomic_int *reload)
{
    time_t last_expire = time(NULL);
    uint64_t dropped_full = 0, dropped_note = 0;
    while (!atomic_load(stop)) {
        mpcd_notify_watchdog();
        s_announce_full_mesh(s);
        if (reload && atomic_exchange(reload, 0)) s_reload(s);
        mpcd_log_flush();
        if (s->clients) {
            mpcd_status_extra extra;
            memset(&extra, 0, sizeof extra);
            if (s->pool) {
                extra.triples_stock = mpcd_pool_stock(s->pool);
                extra.triples_per_s = mpcd_pool_rate(s->pool);
            }
            s_peers(s, &extra);
            mpcd_clientsock_serve(s->clients, s->jobs, &extra, 200);
            uint64_t full = 0;
            mpcd_clientsock_stats(s->clients, &full, NULL, NULL, NULL);
            if (full != dropped_full && mpc_now_ms() - dropped_note >= 10000) {
                mpcd_warn(NULL, "%llu replies dropped so far: their clients do not read them",
                          (unsigned long long)full);
                dropped_full = full;
                dropped_note = mpc_now_ms();
            }
        } else {
            struct timespec ts = {0, 200 * 1000000L};
            nanosleep(&ts, NULL);
        }
        s_note_accept_dropped();
        time_t now = time(NULL);
        if (s->jobs && now != last_expire) {
            uint32_t n = mpcd_jobs_expire(s->jobs, now, s->cfg.result_ttl_s);
            if (n) {
                mpcd_info(NULL, "expired %u finished jobs (their shares are wiped)", (unsigned)n);
                mpcd_jobs_lock(s->jobs);
                mpcd_jobs_notify(s->jobs);   /* held RESULTs of those jobs are answered */
                mpcd_jobs_unlock(s->jobs);
            }
            last_expire = now;
        }
    }
    mpcd_info(NULL, "stopping");
    mpcd_log_flush();
    return 0;
}

void mpcd_server_destroy(mpcd_server **sp)
{
    if (!sp || !*sp) return;
    mpcd_server *s = *sp;
    mpcd_http_stop(&s->http);   /* first: a scrape reads the jobs, the mesh and the pool */
    atomic_store(&s->stop_worker, 1);
    if (s->jobs) {
        mpcd_jobs_lock(s->jobs);
        mpcd_jobs_notify(s->jobs);
        mpcd_jobs_unlock(s->jobs);
    }
    if (s->worker_running) pthread_join(s->worker_thread, NULL);
    mpcd_collector_stop(&s->collector);
    mpcd_contrib_key_free();
    mpcd_clientsock_destroy(&s->clients);
    /* The pool's OT source holds a view of the mesh (it forgets its streams on destroy): the
     * pool goes before the mesh. */
    mpcd_pool_destroy(&s->pool);
    if (s->jobs) mpcd_jobs_set_waker(s->jobs, NULL, NULL);   /* it wakes the mesh: gone next */
    mpc_transport_destroy(&s->mesh);
    mpcd_jobs_destroy(&s->jobs);
    mpcd_audit_close(&s->audit);
    if (s->datasets) mpcd_ds_set_store(NULL);
    mpcd_ds_store_close(&s->datasets);
    if (s->ledger && mpcd_ledger_global() == s->ledger) mpcd_ledger_set_global(NULL);
    mpcd_ledger_close(&s->ledger);
    mpc_keypair_destroy(&s->kp);
    sodium_memzero(s, sizeof *s);
    free(s);
    *sp = NULL;
}
