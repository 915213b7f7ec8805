/* metrics.c — mpcd's counters and their Prometheus text rendering (metrics.h). */
#include "metrics.h"

#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "cwire.h"
#include "fdguard.h"
#include "transport_zmq.h"

typedef atomic_uint_fast64_t counter;

/* Job duration buckets (upper bounds, seconds); the histogram's +Inf bucket follows. */
static const double s_bounds[] = {0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800};
#define N_BOUNDS (sizeof s_bounds / sizeof s_bounds[0])

enum { OUT_DONE, OUT_FAILED, OUT_CANCELLED, OUT__COUNT };
static const char *const s_outcomes[OUT__COUNT] = {"done", "failed", "cancelled"};

/* Request types MPC_CW_SUBMIT .. MPC_CW_CANCEL, then MPC_CW_KEYS (REQ_KEYS) and MPC_CW_MASK
 * (REQ_MASK); slot 0 holds any other type. */
#define REQ_TYPES 9
#define REQ_KEYS  7
#define REQ_MASK  8
static const char *const s_req_names[REQ_TYPES] = {"other", "submit", "input",  "result", "status",
                                                   "jobs",  "cancel", "keys",   "mask"};

enum { JOIN_DONE, JOIN_FAILED, JOIN__COUNT };

enum { REF_UNKNOWN_KEY, REF_OTHER, REF__COUNT };
static const char *const s_ref_reasons[REF__COUNT] = {"unknown_key", "not_curve"};

/* Label values of mpcd_jobs{state} (mpcd_job_state order). */
static const char *const s_state_labels[MPCD_JOB__COUNT] = {"queued", "waiting", "running", "done", "failed",
                                                            "cancelled"};

static struct {
    counter jobs[OUT__COUNT];
    counter dur_bucket[N_BOUNDS + 1];   /* not cumulative: [i] counts bounds[i-1] < d <= bounds[i] */
    counter dur_sum_us;
    counter rounds, triples_used, triples_pool, triples_job;
    counter refused[2][REF__COUNT];     /* [client endpoint?][reason] */
    counter requests[REQ_TYPES][2];     /* [type][ok] */
    counter joins[JOIN__COUNT];
} s_m;

static void s_add(counter *c, uint64_t n)
{
    atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

static uint64_t s_get(const counter *c)
{
    return (uint64_t)atomic_load_explicit(c, memory_order_relaxed);
}

void mpcd_metrics_job_ended(mpcd_job_state outcome, uint64_t submitted_ms)
{
    int o = outcome == MPCD_JOB_DONE ? OUT_DONE : outcome == MPCD_JOB_CANCELLED ? OUT_CANCELLED : OUT_FAILED;
    s_add(&s_m.jobs[o], 1);
    uint64_t now = mpc_now_ms();
    uint64_t ms = now > submitted_ms ? now - submitted_ms : 0;
    double sec = (double)ms / 1000.0;
    size_t b = 0;
    while (b < N_BOUNDS && sec > s_bounds[b]) b++;
    s_add(&s_m.dur_bucket[b], 1);
    s_add(&s_m.dur_sum_us, ms * 1000);
}

void mpcd_metrics_engine(uint64_t rounds, uint64_t triples_used)
{
    s_add(&s_m.rounds, rounds);
    s_add(&s_m.triples_used, triples_used);
}

void mpcd_metrics_triples_made(int pool, uint64_t n)
{
    s_add(pool ? &s_m.triples_pool : &s_m.triples_job, n);
}

void mpcd_metrics_refused(int client, mpc_zap_refusal why)
{
    s_add(&s_m.refused[client ? 1 : 0][why == MPC_ZAP_UNKNOWN_KEY ? REF_UNKNOWN_KEY : REF_OTHER], 1);
}

void mpcd_metrics_request(unsigned type, int ok)
{
    unsigned t = type >= MPC_CW_SUBMIT && type <= MPC_CW_CANCEL ? type
                 : type == MPC_CW_KEYS                           ? REQ_KEYS
                 : type == MPC_CW_MASK                           ? REQ_MASK
                                                                 : 0;
    s_add(&s_m.requests[t][ok ? 1 : 0], 1);
}

void mpcd_metrics_join(int ok)
{
    s_add(&s_m.joins[ok ? JOIN_DONE : JOIN_FAILED], 1);
}

/* ---- rendering ---- */

static void s_head(FILE *f, const char *name, const char *type, const char *help)
{
    fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A label value with \, " and newline escaped (names are restricted already; belt and braces). */
static void s_label(FILE *f, const char *v)
{
    for (; *v; v++) {
        if (*v == '\\' || *v == '"') fputc('\\', f);
        if (*v == '\n') {
            fputs("\\n", f);
            continue;
        }
        fputc(*v, f);
    }
}

static void s_u64(FILE *f, const char *name, uint64_t v)
{
    fprintf(f, "%s %llu\n", name, (unsigned long long)v);
}

static void s_render_jobs(const mpcd_metrics_source *src, FILE *f)
{
    s_head(f, "mpcd_jobs_total", "counter", "Jobs that ended here, by outcome.");
    for (int o = 0; o < OUT__COUNT; o++)
        fprintf(f, "mpcd_jobs_total{outcome=\"%s\"} %llu\n", s_outcomes[o], (unsigned long long)s_get(&s_m.jobs[o]));
    s_head(f, "mpcd_joins_total", "counter",
           "Private joins of jobs this daemon took part in (side A, side B or a third party), by outcome.");
    for (int o = 0; o < JOIN__COUNT; o++)
        fprintf(f, "mpcd_joins_total{outcome=\"%s\"} %llu\n", o == JOIN_DONE ? "done" : "failed",
                (unsigned long long)s_get(&s_m.joins[o]));
    if (src->jobs) {
        uint32_t counts[MPCD_JOB__COUNT];
        mpcd_jobs_lock(src->jobs);
        mpcd_jobs_count(src->jobs, counts);
        mpcd_jobs_unlock(src->jobs);
        s_head(f, "mpcd_jobs", "gauge", "Jobs in the job table now, by state (finished ones until result_ttl_s).");
        for (int s = 0; s < MPCD_JOB__COUNT; s++)
            fprintf(f, "mpcd_jobs{state=\"%s\"} %u\n", s_state_labels[s], (unsigned)counts[s]);
    }
    s_head(f, "mpcd_job_duration_seconds", "histogram", "Time from a job's submission here to its end.");
    uint64_t cum = 0;
    for (size_t b = 0; b <= N_BOUNDS; b++) {
        cum += s_get(&s_m.dur_bucket[b]);
        if (b < N_BOUNDS)
            fprintf(f, "mpcd_job_duration_seconds_bucket{le=\"%g\"} %llu\n", s_bounds[b], (unsigned long long)cum);
        else
            fprintf(f, "mpcd_job_duration_seconds_bucket{le=\"+Inf\"} %llu\n", (unsigned long long)cum);
    }
    fprintf(f, "mpcd_job_duration_seconds_sum %.6f\n", (double)s_get(&s_m.dur_sum_us) / 1e6);
    s_u64(f, "mpcd_job_duration_seconds_count", cum);
    s_head(f, "mpcd_rounds_total", "counter", "Opening rounds of the jobs evaluated here.");
    s_u64(f, "mpcd_rounds_total", s_get(&s_m.rounds));
}

static void s_render_triples(const mpcd_metrics_source *src, FILE *f)
{
    s_head(f, "mpcd_triples_made_total", "counter",
           "Beaver triples made here: for the pool, or for one job's own preprocessing.");
    fprintf(f, "mpcd_triples_made_total{source=\"pool\"} %llu\n", (unsigned long long)s_get(&s_m.triples_pool));
    fprintf(f, "mpcd_triples_made_total{source=\"job\"} %llu\n", (unsigned long long)s_get(&s_m.triples_job));
    s_head(f, "mpcd_triples_used_total", "counter", "Beaver triples the jobs evaluated here used.");
    s_u64(f, "mpcd_triples_used_total", s_get(&s_m.triples_used));
    if (src->pool) {
        s_head(f, "mpcd_pool_triples", "gauge", "Triples in the pool's stock now.");
        s_u64(f, "mpcd_pool_triples", mpcd_pool_stock(src->pool));
        s_head(f, "mpcd_pool_target_triples", "gauge", "The pool's target stock (pool_triples).");
        s_u64(f, "mpcd_pool_target_triples", mpcd_pool_target(src->pool));
    }
}

typedef enum { P_UP, P_BYTES_SENT, P_BYTES_RECV, P_MSGS_SENT, P_MSGS_RECV, P__COUNT } peer_metric;

static void s_render_peers(const mpcd_metrics_source *src, FILE *f)
{
    static const struct { const char *name, *type, *help; } m[P__COUNT] = {
        {"mpcd_peer_up", "gauge", "1 when the connection to the peer is up, else 0."},
        {"mpcd_peer_bytes_sent_total", "counter", "Bytes (message headers and payloads) sent to the peer."},
        {"mpcd_peer_bytes_received_total", "counter", "Bytes (message headers and payloads) received from the peer."},
        {"mpcd_peer_messages_sent_total", "counter", "Messages sent to the peer."},
        {"mpcd_peer_messages_received_total", "counter", "Messages received from the peer."},
    };
    for (int k = 0; k < P__COUNT; k++) {
        s_head(f, m[k].name, m[k].type, m[k].help);
        for (uint32_t i = 0; i < src->n_nodes && i < MPCD_METRICS_MAX_NODES; i++) {
            if (i == src->self) continue;
            uint64_t v;
            if (k == P_UP) {
                int state;
                uint64_t since;
                mpc_transport_zmq_peer_info(src->mesh, i, &state, &since);
                v = state == MPC_ZMQ_PEER_UP;
            } else {
                mpc_zmq_traffic tr;
                mpc_transport_zmq_peer_traffic(src->mesh, i, &tr);
                v = k == P_BYTES_SENT ? tr.bytes_sent : k == P_BYTES_RECV ? tr.bytes_recv
                  : k == P_MSGS_SENT  ? tr.msgs_sent  : tr.msgs_recv;
            }
            fprintf(f, "%s{peer=\"", m[k].name);
            s_label(f, src->names[i]);
            fprintf(f, "\"} %llu\n", (unsigned long long)v);
        }
    }
}

/* The direct lanes (docs/transport.md, "Direct lanes"): all zero without them. */
static void s_render_lanes(const mpcd_metrics_source *src, FILE *f)
{
    mpc_zmq_stats st = {0};
    mpc_transport_zmq_direct_stats(src->mesh, &st);
    static const struct { const char *name, *type, *help; } m[] = {
        {"mpcd_direct_lanes", "gauge", "Direct lanes to peers up now."},
        {"mpcd_direct_lanes_made_total", "counter", "Direct lanes set up, those made again after a restart included."},
        {"mpcd_direct_lane_failures_total", "counter", "Direct lanes that failed (their traffic fell back to ZeroMQ)."},
        {"mpcd_direct_refused_total", "counter", "Connections to the direct lane listener that did not authenticate."},
        {"mpcd_direct_messages_sent_total", "counter", "Messages sent on direct lanes (the others took ZeroMQ)."},
        {"mpcd_direct_messages_received_total", "counter", "Messages received on direct lanes."},
    };
    const uint64_t v[] = {st.direct_lanes, st.direct_made, st.direct_failures, st.direct_refused, st.direct_sent,
                          st.direct_recv};
    for (size_t k = 0; k < sizeof m / sizeof m[0]; k++) {
        s_head(f, m[k].name, m[k].type, m[k].help);
        fprintf(f, "%s %llu\n", m[k].name, (unsigned long long)v[k]);
    }
}

static void s_render_refusals(FILE *f)
{
    s_head(f, "mpcd_accept_dropped_total", "counter",
           "Connections closed as soon as accepted because the daemon had no descriptor left.");
    fprintf(f, "mpcd_accept_dropped_total %llu\n", (unsigned long long)mpcd_fdguard_dropped());
    s_head(f, "mpcd_refused_handshakes_total", "counter",
           "CURVE handshakes refused by the ZAP handler of the peer or the client endpoint, by reason.");
    for (int c = 0; c < 2; c++)
        for (int r = 0; r < REF__COUNT; r++)
            fprintf(f, "mpcd_refused_handshakes_total{endpoint=\"%s\",reason=\"%s\"} %llu\n", c ? "client" : "peer",
                    s_ref_reasons[r], (unsigned long long)s_get(&s_m.refused[c][r]));
    s_head(f, "mpcd_client_requests_total", "counter",
           "Client requests answered, by type and result (ok: a reply; refused: an ERROR reply).");
    for (int t = 1; t <= REQ_TYPES; t++) {
        int ty = t % REQ_TYPES;   /* the named types first, "other" last */
        for (int ok = 1; ok >= 0; ok--)
            fprintf(f, "mpcd_client_requests_total{type=\"%s\",result=\"%s\"} %llu\n", s_req_names[ty],
                    ok ? "ok" : "refused", (unsigned long long)s_get(&s_m.requests[ty][ok]));
    }
}

void mpcd_metrics_render(const mpcd_metrics_source *src, FILE *out)
{
    s_render_jobs(src, out);
    s_render_triples(src, out);
    s_render_peers(src, out);
    s_render_lanes(src, out);
    s_render_refusals(out);
}

int mpcd_metrics_healthy(const mpcd_metrics_source *src, char *reason, size_t reasonlen)
{
    uint64_t now = mpc_now_ms();
    time_t wall = time(NULL);
    size_t len = 0;
    int healthy = 1;
    snprintf(reason, reasonlen, "ok");
    for (uint32_t i = 0; i < src->n_nodes && i < MPCD_METRICS_MAX_NODES; i++) {
        if (i == src->self) continue;
        int state;
        uint64_t since;
        mpc_transport_zmq_peer_info(src->mesh, i, &state, &since);
        if (state == MPC_ZMQ_PEER_UP) continue;
        uint64_t ago_ms = now > since ? now - since : 0;
        time_t at = wall - (time_t)(ago_ms / 1000);
        struct tm tm;
        char when[32] = "?";
        if (gmtime_r(&at, &tm)) strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
        int m = snprintf(reason + len, reasonlen - len, "%speer %s %s since %s (%llu s)", healthy ? "" : "; ",
                         src->names[i], state == MPC_ZMQ_PEER_REFUSED ? "refuses our key" : "unreachable", when,
                         (unsigned long long)(ago_ms / 1000));
        healthy = 0;
        if (m < 0 || (size_t)m >= reasonlen - len) break;
        len += (size_t)m;
    }
    return healthy;
}
