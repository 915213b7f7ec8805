/* mkcorpus.c — writes the seed corpora of the message decoders (tests/fuzz/mkcorpus runs it):
 * every request and reply a client and a daemon exchange, and every peer header the mesh sends,
 * encoded by the same encoders the SDK, mpcd and the transport use (client-sdk/cwire.c,
 * protocols/wire.c), with the real example circuits as SUBMIT payloads.  (The traffic itself
 * is CURVE-encrypted, so it cannot be captured off the wire; these are the bytes inside.)
 * Usage: mkcorpus OUTDIR CIRC...   writes OUTDIR/{wire,cwire_req,cwire_rep}/NAME. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cwire.h"
#include "wire.h"

static const char *s_out;

static void s_write(const char *target, const char *name, const uint8_t *pre, size_t npre,
                    const uint8_t *buf, size_t len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", s_out, target);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/%s/%s", s_out, target, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(pre, 1, npre, f) != npre || fwrite(buf, 1, len, f) != len) {
        fprintf(stderr, "mkcorpus: %s: %s\n", path, strerror(errno));
        exit(1);
    }
    fclose(f);
}

/* The client targets' layout (fuzz_cwire.h): [n_payload][payload_len LE32][header]. */
static void s_cw(const char *target, const char *name, const uint8_t *hdr, size_t len, size_t plen)
{
    uint8_t pre[5] = {plen ? 1 : 0, (uint8_t)plen, (uint8_t)(plen >> 8), (uint8_t)(plen >> 16),
                      (uint8_t)(plen >> 24)};
    s_write(target, name, pre, sizeof pre, hdr, len);
}

static void s_req(const char *name, const mpc_cwire_req *r)
{
    uint8_t *b;
    size_t n;
    if (mpc_cwire_req_encode(r, &b, &n) != 0) { fprintf(stderr, "mkcorpus: encode %s\n", name); exit(1); }
    s_cw("cwire_req", name, b, n, mpc_cwire_req_payload_len(r));
    free(b);
}

static void s_rep(const char *name, const mpc_cwire_rep *r)
{
    uint8_t *b;
    size_t n;
    if (mpc_cwire_rep_encode(r, &b, &n) != 0) { fprintf(stderr, "mkcorpus: encode %s\n", name); exit(1); }
    s_cw("cwire_rep", name, b, n, mpc_cwire_rep_payload_len(r));
    free(b);
}

static uint8_t *s_slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc(n > 0 ? (size_t)n : 1);
    if (!b || fread(b, 1, (size_t)n, f) != (size_t)n) exit(1);
    fclose(f);
    *len = (size_t)n;
    return b;
}

int main(int argc, char **argv)
{
    if (argc < 2) { fprintf(stderr, "usage: mkcorpus OUTDIR CIRC...\n"); return 2; }
    s_out = argv[1];
    static const uint8_t job[16] = {0x5e, 0xc1, 0x2e, 0x75, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    char name[128];

    /* Peer headers: every message type the mesh sends, small and large fields. */
    static const unsigned types[] = {MPC_MSG_INPUT, MPC_MSG_OPEN, 3, MPC_MSG_PREP, MPC_MSG_CONTROL,
                                     MPC_MSG_ABORT, MPC_WIRE_MSG_HELLO, MPC_WIRE_MSG_HELLO_ACK,
                                     MPC_WIRE_MSG_LANE_SYNC};
    static const uint64_t counts[] = {0, 1, 2 * 200000, MPC_WIRE_MAX_COUNT};
    for (size_t t = 0; t < sizeof types / sizeof types[0]; t++)
        for (size_t c = 0; c < sizeof counts / sizeof counts[0]; c++) {
            mpc_msg_hdr h = {.version = 1, .type = (uint8_t)types[t], .sender = (uint16_t)(c * 5 % 16),
                             .stream = c ? 0x5ec12e75ec12e7ull + c : 0, .seq = c * 1000, .count = counts[c]};
            uint8_t b[MPC_WIRE_HDR_MAX];
            size_t n;
            if (mpc_wire_hdr_encode(b, sizeof b, &n, &h) != 0) return 1;
            snprintf(name, sizeof name, "type%u-count%zu", types[t], c);
            s_write("wire", name, NULL, 0, b, n);
        }

    /* Requests: SUBMIT with each example circuit, INPUT both modes, RESULT, STATUS. */
    for (int i = 2; i < argc; i++) {
        size_t len;
        uint8_t *circ = s_slurp(argv[i], &len);
        if (!circ) { fprintf(stderr, "mkcorpus: cannot read %s\n", argv[i]); return 1; }
        mpc_cwire_req r = {.type = MPC_CW_SUBMIT, .rid = (uint64_t)i, .circ = circ, .circ_len = len, .n_bind = 3};
        memcpy(r.job, job, 16);
        strcpy(r.bind[0], "a"); strcpy(r.bind[1], "b"); strcpy(r.bind[2], "c");
        const char *base = strrchr(argv[i], '/');
        snprintf(name, sizeof name, "submit-%s", base ? base + 1 : argv[i]);
        s_req(name, &r);
    }
    mpc_cwire_req r = {.type = MPC_CW_INPUT, .rid = 7, .mode = MPC_CW_SEED, .count = 4};
    memcpy(r.job, job, 16);
    strcpy(r.name, "x");
    s_req("input-seed", &r);
    r.mode = MPC_CW_EXPLICIT;
    r.count = 200000;
    strcpy(r.name, "provider_w.v2");
    s_req("input-explicit", &r);
    r.mode = MPC_CW_MASKED;   /* security = malicious: x − a */
    r.count = 3;
    strcpy(r.name, "x");
    s_req("input-masked", &r);
    memset(&r, 0, sizeof r);
    r.type = MPC_CW_MASK; r.rid = 8; r.count = 3; r.wait_ms = 1000;
    memcpy(r.job, job, 16);
    strcpy(r.name, "x");
    s_req("mask", &r);
    memset(&r, 0, sizeof r);
    r.type = MPC_CW_RESULT; r.rid = UINT64_MAX; r.wait_ms = MPC_CWIRE_MAX_WAIT_MS;
    memcpy(r.job, job, 16);
    strcpy(r.name, "total");
    s_req("result", &r);
    memset(&r, 0, sizeof r);
    r.type = MPC_CW_STATUS; r.rid = 1;
    s_req("status-daemon", &r);
    r.has_job = 1;
    memcpy(r.job, job, 16);
    s_req("status-job", &r);

    /* Replies: one of each, including a failed job's record and an error. */
    mpc_cwire_rep p = {.type = MPC_CW_SUBMIT_OK, .rid = 2};
    memset(p.hash, 0xab, sizeof p.hash);
    s_rep("submit-ok", &p);
    p.malicious = 1;
    s_rep("submit-ok-malicious", &p);
    memset(&p, 0, sizeof p);
    p.type = MPC_CW_INPUT_OK; p.rid = 3;
    s_rep("input-ok", &p);
    p.type = MPC_CW_RESULT_OK; p.ready = 1; p.state = MPC_JOB_DONE; p.vtype = 1; p.count = 4;
    s_rep("result-ready", &p);
    p.ready = 0; p.state = MPC_JOB_RUNNING; p.count = 0;
    s_rep("result-not-ready", &p);
    /* security = malicious: a checked output's record (3 parties), with withheld elements too */
    p.ready = 1; p.state = MPC_JOB_DONE; p.count = 4; p.checked = 1; p.parties = 3;
    s_rep("result-checked", &p);
    snprintf(p.withheld, sizeof p.withheld, "output 'h' elements 1 withheld: fewer than min_rows = 10 rows");
    p.withheld_bits[0] = 2;
    s_rep("result-checked-withheld", &p);
    memset(&p, 0, sizeof p);
    p.type = MPC_CW_MASK_OK; p.rid = 5; p.ready = 1; p.state = MPC_JOB_RUNNING; p.count = 3; p.parties = 2;
    s_rep("mask-ready", &p);
    p.ready = 0; p.state = MPC_JOB_INPUTS; p.count = 0; p.parties = 0;
    s_rep("mask-not-ready", &p);
    memset(&p, 0, sizeof p);
    p.type = MPC_CW_STATUS_OK; p.rid = 9;
    strcpy(p.daemon, "a");
    p.info.jobs_done = 12; p.info.triples_stock = 1u << 20;
    s_rep("status-daemon", &p);
    p.has_job = 1;
    p.job.state = MPC_JOB_FAILED;
    snprintf(p.job.reason, sizeof p.job.reason, "party b is unreachable: peer 1 disconnected");
    p.job.layers_done = 3; p.job.layers_total = 41; p.job.triples_used = 600000;
    p.job.inputs_given = 1; p.job.inputs_total = 2;
    memset(p.job.hash, 0xcd, sizeof p.job.hash);
    p.job.n_bind = 2;
    strcpy(p.job.bind[0], "clinic"); strcpy(p.job.bind[1], "insurer");
    s_rep("status-job", &p);
    p.job.malicious = 1;
    p.job.prep_needed = 9;
    s_rep("status-job-malicious", &p);
    memset(&p, 0, sizeof p);
    p.type = MPC_CW_ERROR; p.rid = 4; p.code = -7;
    snprintf(p.msg, sizeof p.msg, "party b, job 5ec12e75...: client 'client_b' may not give input for party c");
    s_rep("error", &p);
    return 0;
}
