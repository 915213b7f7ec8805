/* check_client.c — what the client side can be tested for without a daemon: the client
 * configuration (errors with file:line), the key files, local secret sharing of inputs and
 * reconstruction of outputs. */
#include <check.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include "runner.h"
#include "proc.h"
#include "mpcclient.h"   /* first: the public header must stand on its own */

#include <pthread.h>
#include <time.h>

#include "circuit.h"
#include "client_conf.h"
#include "cwire.h"
#include "enginetest.h"
#include "eval.h"
#include "format.h"

static char s_dir[256];

static int64_t s_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
static char s_pub[3][41], s_sec[3][41];

static void s_setup(void)
{
    snprintf(s_dir, sizeof s_dir, "/tmp/check_client.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(s_dir));
    for (int i = 0; i < 3; i++) ck_assert_int_eq(zmq_curve_keypair(s_pub[i], s_sec[i]), 0);
}

static void s_teardown(void)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", s_dir);
    ck_assert_int_eq(system(cmd), 0);
}

static void s_write(const char *name, const char *text, mode_t mode)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", s_dir, name);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
    ck_assert_int_eq(chmod(path, mode), 0);
}

/* Loads `text` as a configuration; returns the code and leaves the message in err. */
static int s_load(const char *text, mpc_client_conf *cfg, char *err, size_t errlen)
{
    s_write("client.ini", text, 0644);
    char path[512];
    snprintf(path, sizeof path, "%s/client.ini", s_dir);
    return mpc_client_conf_load(path, cfg, err, errlen);
}

static char *s_conf(const char *client_extra, int n_daemons, const char *daemon_extra)
{
    static char buf[4096];
    int off = snprintf(buf, sizeof buf,
                       "; a client\n[client]\nname = analyst\npublic_key_file = analyst.pub\n"
                       "secret_key_file = analyst.secret\n%s\n", client_extra);
    static const char *names[3] = {"clinic", "insurer", "lab"};
    for (int i = 0; i < n_daemons; i++)
        off += snprintf(buf + off, sizeof buf - (size_t)off, "[daemon %s]\nendpoint = tcp://127.0.0.1:%d\npublic_key = %s\n%s\n",
                        names[i], 7101 + i, s_pub[i], i == n_daemons - 1 ? daemon_extra : "");
    return buf;
}

/* Asserts that loading fails with a message "…/client.ini:LINE: error: …needle…". */
static void s_expect_error(const char *text, int line, const char *needle)
{
    mpc_client_conf cfg;
    char err[512], want[64];
    ck_assert_int_eq(s_load(text, &cfg, err, sizeof err), MPC_ERR_CONFIG);
    if (line > 0) snprintf(want, sizeof want, "client.ini:%d: error: ", line);
    else snprintf(want, sizeof want, "client.ini: error: ");
    ck_assert_msg(strstr(err, want) != NULL, "'%s' lacks '%s'", err, want);
    ck_assert_msg(strstr(err, needle) != NULL, "'%s' lacks '%s'", err, needle);
}

START_TEST(test_conf_loads_in_party_order)
{
    mpc_client_conf cfg;
    char err[512] = "";
    ck_assert_int_eq(s_load(s_conf("", 3, ""), &cfg, err, sizeof err), 0);
    ck_assert_str_eq(cfg.name, "analyst");
    ck_assert_uint_eq(cfg.n_daemons, 3);
    ck_assert_str_eq(cfg.daemons[0].name, "clinic");
    ck_assert_str_eq(cfg.daemons[1].name, "insurer");
    ck_assert_str_eq(cfg.daemons[2].name, "lab");
    ck_assert_str_eq(cfg.daemons[1].endpoint, "tcp://127.0.0.1:7102");
    ck_assert_int_eq(mpc_client_conf_daemon(&cfg, "lab"), 2);
    ck_assert_int_eq(mpc_client_conf_daemon(&cfg, "nobody"), -1);
    uint8_t key[32];
    ck_assert_ptr_nonnull(zmq_z85_decode(key, s_pub[1]));
    ck_assert_mem_eq(cfg.daemons[1].public_key, key, 32);
    ck_assert_int_eq(cfg.timeout_ms, 10000);
    /* key paths are resolved against the configuration's directory */
    char want[600];
    snprintf(want, sizeof want, "%s/analyst.pub", s_dir);
    ck_assert_str_eq(cfg.public_key_file, want);
    ck_assert_int_eq(s_load(s_conf("timeout_ms = 250\nmax_message_bytes = 4096", 2, ""), &cfg, err, sizeof err), 0);
    ck_assert_int_eq(cfg.timeout_ms, 250);
    ck_assert_int_eq(cfg.max_message_bytes, 4096);
    ck_assert_uint_eq(cfg.n_daemons, 2);
}
END_TEST

START_TEST(test_conf_errors_name_file_and_line)
{
    /* lines: 1 comment, 2 [client], 3 name, 4 public, 5 secret, 6 client_extra,
     * 7 [daemon clinic], 8 endpoint, 9 key, 10 blank, 11 [daemon insurer], 12 endpoint,
     * 13 key, 14.. daemon_extra (after the last daemon) */
    s_expect_error(s_conf("colour = blue", 2, ""), 6, "unknown key 'colour'");
    s_expect_error(s_conf("name = again", 2, ""), 6, "'name' is set twice");
    s_expect_error(s_conf("timeout_ms = 5", 2, ""), 6, "out of range");
    s_expect_error(s_conf("timeout_ms = soon", 2, ""), 6, "not an integer");
    s_expect_error(s_conf("", 1, ""), 0, "at least 2 daemons");
    s_expect_error(s_conf("", 2, "[daemon clinic]\nendpoint = tcp://x:1\npublic_key = x"), 14, "appears twice");
    s_expect_error(s_conf("", 2, "[party x]\nendpoint = tcp://x:1"), 14, "unknown section");
    s_expect_error(s_conf("", 2, "[daemon]\nendpoint = tcp://x:1"), 14, "needs a name");
    s_expect_error(s_conf("", 2, "[daemon a/b]\nendpoint = tcp://x:1"), 14, "not a valid daemon name");
    s_expect_error(s_conf("", 2, "[daemon z]\nendpoint = tcp://x:1"), 14, "lacks the required key 'public_key'");
    s_expect_error(s_conf("", 2, "[daemon z]\nendpoint = tcp://x:1\npublic_key = tooshort"), 16, "not a CURVE public key");
    s_expect_error(s_conf("", 2, "[daemon z]\nendpoint = localhost\n"), 15, "not a ZeroMQ endpoint");
    s_expect_error(s_conf("", 2, "[daemon empty]\n[daemon z]\nendpoint = tcp://x:1\n"), 14, "section has no keys");
    s_expect_error(s_conf("", 2, "[daemon empty]\n"), 14, "section has no keys");
    s_expect_error(s_conf("", 2, "this is not ini"), 14, "malformed line");
    s_expect_error("[client]\nname = x\n", 1, "lacks the required key 'public_key_file'");
    /* two daemons with the same key */
    char text[2048];
    snprintf(text, sizeof text, "[client]\nname = x\npublic_key_file = p\nsecret_key_file = s\n"
             "[daemon a]\nendpoint = tcp://a:1\npublic_key = %s\n[daemon b]\nendpoint = tcp://b:1\npublic_key = %s\n",
             s_pub[0], s_pub[0]);
    s_expect_error(text, 8, "same public key");
    snprintf(text, sizeof text, "[daemon a]\nendpoint = tcp://a:1\npublic_key = %s\n[daemon b]\n"
             "endpoint = tcp://b:1\npublic_key = %s\n", s_pub[0], s_pub[1]);
    s_expect_error(text, 0, "no [client] section");
    /* a missing file */
    mpc_client_conf cfg;
    char err[512];
    ck_assert_int_eq(mpc_client_conf_load("/nonexistent/client.ini", &cfg, err, sizeof err), MPC_ERR_CONFIG);
    ck_assert_ptr_nonnull(strstr(err, "/nonexistent/client.ini: error: cannot open"));
}
END_TEST

/* The example configuration in configs/ stays valid (tests run from the repository root). */
START_TEST(test_example_config_parses)
{
    mpc_client_conf cfg;
    char err[512] = "";
    int r = mpc_client_conf_load("configs/client.ini", &cfg, err, sizeof err);
    ck_assert_msg(r == 0, "%s", err);
    ck_assert_uint_eq(cfg.n_daemons, 3);
    ck_assert_str_eq(cfg.daemons[2].name, "c");
    ck_assert_str_eq(cfg.public_key_file, "configs/keys/analyst.pub");
}
END_TEST

START_TEST(test_key_files)
{
    mpc_client_conf cfg;
    char err[512] = "";
    ck_assert_int_eq(s_load(s_conf("", 2, ""), &cfg, err, sizeof err), 0);
    char line[64];
    snprintf(line, sizeof line, "%s\n", s_pub[2]);
    s_write("analyst.pub", line, 0644);
    snprintf(line, sizeof line, "%s\n", s_sec[2]);
    s_write("analyst.secret", line, 0600);
    uint8_t pub[32], want[32];
    uint8_t *sec = sodium_malloc(32);
    ck_assert_ptr_nonnull(sec);
    ck_assert_int_eq(mpc_client_conf_load_keys(&cfg, pub, sec, err, sizeof err), 0);
    ck_assert_ptr_nonnull(zmq_z85_decode(want, s_pub[2]));
    ck_assert_mem_eq(pub, want, 32);
    ck_assert_ptr_nonnull(zmq_z85_decode(want, s_sec[2]));
    ck_assert_mem_eq(sec, want, 32);
    /* group-readable secret: refused, and the message names the file but not the key */
    s_write("analyst.secret", line, 0640);
    ck_assert_int_eq(mpc_client_conf_load_keys(&cfg, pub, sec, err, sizeof err), MPC_ERR_DENIED);
    ck_assert_ptr_nonnull(strstr(err, "analyst.secret"));
    ck_assert_ptr_null(strstr(err, s_sec[2]));
    /* a secret that does not belong to the public key */
    snprintf(line, sizeof line, "%s\n", s_sec[1]);
    s_write("analyst.secret", line, 0600);
    ck_assert_int_eq(mpc_client_conf_load_keys(&cfg, pub, sec, err, sizeof err), MPC_ERR_CONFIG);
    ck_assert_ptr_nonnull(strstr(err, "does not belong"));
    /* not a key */
    s_write("analyst.pub", "hello\n", 0644);
    ck_assert_int_eq(mpc_client_conf_load_keys(&cfg, pub, sec, err, sizeof err), MPC_ERR_CONFIG);
    ck_assert_ptr_nonnull(strstr(err, "analyst.pub"));
    sodium_free(sec);
}
END_TEST

/* The PRG stream pinned independently: ChaCha20 (djb, 64-bit nonce) with the nonce bytes
 * written out by hand — index little-endian, the client domain (2) in the top byte. */
START_TEST(test_seed_expand_convention)
{
    uint8_t seed[32];
    for (int i = 0; i < 32; i++) seed[i] = (uint8_t)(i * 7 + 1);
    uint64_t got[20];
    ck_assert_int_eq(mpc_cwire_seed_expand(got, 20, seed, 0x010203), 0);
    unsigned char nonce[8] = {0x03, 0x02, 0x01, 0, 0, 0, 0, 0x02};
    unsigned char ks[160];
    crypto_stream_chacha20(ks, sizeof ks, nonce, seed);
    for (int i = 0; i < 20; i++) {
        uint64_t w = 0;
        for (int b = 7; b >= 0; b--) w = w << 8 | ks[8 * i + b];
        ck_assert_uint_eq(got[i], w);
    }
    /* another input index is another stream */
    uint64_t other[20];
    ck_assert_int_eq(mpc_cwire_seed_expand(other, 20, seed, 0x010204), 0);
    ck_assert(memcmp(got, other, sizeof got) != 0);
}
END_TEST

/* Shares from the seeds plus the explicit share add up to the input, for every k; n spans
 * several of the blocks mpc_cwire_share expands the seeds in and ends inside one. */
START_TEST(test_sharing_reconstructs)
{
    const uint64_t n = 5003;
    uint64_t *x = malloc(n * 8), *ex = malloc(n * 8), *acc = calloc(n, 8), *tmp = malloc(n * 8);
    uint8_t *seeds = sodium_malloc(15 * 32);
    ck_assert_ptr_nonnull(seeds);
    for (uint64_t i = 0; i < n; i++) x[i] = i * 0x9e3779b97f4a7c15ull ^ (uint64_t)-(int64_t)i;
    x[0] = UINT64_MAX;
    for (uint32_t k = 2; k <= MPC_MAX_PARTIES; k++) {
        ck_assert_int_eq(mpc_cwire_share(seeds, ex, x, n, k, 5), 0);
        memcpy(acc, ex, n * 8);
        for (uint32_t j = 0; j + 1 < k; j++) {
            ck_assert_int_eq(mpc_cwire_seed_expand(tmp, n, seeds + 32 * j, 5), 0);
            mpc_cwire_add(acc, tmp, n);
        }
        ck_assert_mem_eq(acc, x, n * 8);
        /* the explicit share alone is not the input */
        ck_assert(memcmp(ex, x, n * 8) != 0);
    }
    /* k outside 2..16 is refused */
    ck_assert_int_eq(mpc_cwire_share(seeds, ex, x, n, 1, 0), MPC_ERR_INVALID);
    ck_assert_int_eq(mpc_cwire_share(seeds, ex, x, n, MPC_MAX_PARTIES + 1, 0), MPC_ERR_INVALID);
    sodium_free(seeds);
    free(x); free(ex); free(acc); free(tmp);
}
END_TEST

static int s_popcount(uint64_t v)
{
    int c = 0;
    for (; v; v &= v - 1) c++;
    return c;
}

/* Each single share is independent of the input: seeds are fresh per call (so the same input
 * shared twice gives unrelated shares), the explicit share changes with the seeds, and the
 * explicit share of an all-zero input looks uniform. */
START_TEST(test_single_shares_independent_of_input)
{
    const uint64_t n = 512;
    uint64_t x[512], e1[512], e2[512];
    memset(x, 0, sizeof x);
    uint8_t *s1 = sodium_malloc(2 * 32), *s2 = sodium_malloc(2 * 32);
    ck_assert_int_eq(mpc_cwire_share(s1, e1, x, n, 3, 0), 0);
    ck_assert_int_eq(mpc_cwire_share(s2, e2, x, n, 3, 0), 0);
    ck_assert(memcmp(s1, s2, 32) != 0);
    ck_assert(memcmp(s1 + 32, s2 + 32, 32) != 0);
    ck_assert(memcmp(s1, s1 + 32, 32) != 0);
    ck_assert(memcmp(e1, e2, sizeof e1) != 0);
    int ones = 0;
    for (uint64_t i = 0; i < n; i++) ones += s_popcount(e1[i]);
    /* 32768 fair bits: mean 16384, sd 90; 10 sd either side */
    ck_assert_int_gt(ones, 16384 - 900);
    ck_assert_int_lt(ones, 16384 + 900);
    /* the explicit share is determined by x and the seeds: same seeds, new x -> shifted by
     * exactly the difference (so it carries x only through the seeds' mask) */
    uint64_t y[512], ey[512], tmp[512];
    for (uint64_t i = 0; i < n; i++) y[i] = i + 1;
    memcpy(ey, y, sizeof y);
    for (int j = 0; j < 2; j++) {
        ck_assert_int_eq(mpc_cwire_seed_expand(tmp, n, s1 + 32 * j, 0), 0);
        for (uint64_t i = 0; i < n; i++) ey[i] -= tmp[i];
    }
    for (uint64_t i = 0; i < n; i++) ck_assert_uint_eq(ey[i] - e1[i], y[i]);
    sodium_free(s1);
    sodium_free(s2);
}
END_TEST

/* The engine reconstructs what the SDK shares: three parties run a circuit whose inputs come
 * from a client (seeds for parties 0 and 1 as MPC_IN_SEED, the explicit share for party 2 as
 * MPC_IN_SHARE), and the output opened among them is the plaintext result. */
START_TEST(test_engine_reconstructs_client_shares)
{
    mpc_circuit *c = mpc_circ_new();
    for (int p = 0; p < 3; p++) {
        char nm[4] = {(char)('a' + p), 0};
        ck_assert_int_eq(mpc_circ_add_party(c, nm), p);
    }
    uint32_t x = mpc_circ_add_input(c, "x", 0, MPC_T_INT, 4, 1, 1);
    uint32_t y = mpc_circ_add_input(c, "y", 2, MPC_T_INT, 4, 2, 1);
    uint32_t m = mpc_circ_add_gate(c, MPC_G_MUL, MPC_T_INT, 4, x, y, MPC_NO_WIRE, 0, 0, 3, 1);
    uint32_t s = mpc_circ_add_gate(c, MPC_G_ADD, MPC_T_INT, 4, m, x, MPC_NO_WIRE, 0, 0, 3, 1);
    ck_assert_int_ge(mpc_circ_add_output(c, "z", s, 7, 3, 1), 0);
    char err[256];
    ck_assert_msg(mpc_circ_finish(c, err, sizeof err) == 0, "%s", err);

    const uint64_t xv[4] = {1, 2, (uint64_t)-3, 1ull << 62}, yv[4] = {10, (uint64_t)-20, 30, 4};
    const uint64_t *vals[2] = {xv, yv};
    uint8_t *seeds[2];
    uint64_t *ex[2];
    mpc_engine_input *in[3];   /* malloc'ed: et_clear frees them */
    for (int p = 0; p < 3; p++) in[p] = calloc(2, sizeof *in[p]);
    for (int k = 0; k < 2; k++) {
        seeds[k] = sodium_malloc(2 * 32);
        ex[k] = malloc(4 * 8);
        ck_assert_int_eq(mpc_cwire_share(seeds[k], ex[k], vals[k], 4, 3, (uint32_t)k), 0);
        for (int p = 0; p < 2; p++) in[p][k] = (mpc_engine_input){MPC_IN_SEED, NULL, 0, seeds[k] + 32 * p};
        in[2][k] = (mpc_engine_input){MPC_IN_SHARE, ex[k], 4, NULL};
    }
    et_job j;
    memset(&j, 0, sizeof j);
    j.c = c;
    j.use_dealer = 0;
    randombytes_buf(j.master, sizeof j.master);
    for (int p = 0; p < 3; p++) j.in[p] = in[p];
    j.job = 42;
    ck_assert_int_eq(et_run(&j), 0);
    for (int p = 0; p < 3; p++) {
        ck_assert_msg(j.rc[p] == 0 && j.open_rc[p] == 0, "party %d: %s", p, j.err[p]);
        ck_assert_ptr_nonnull(j.value[p][0]);
        for (int i = 0; i < 4; i++) ck_assert_uint_eq(j.value[p][0][i], xv[i] * yv[i] + xv[i]);
    }
    et_clear(&j);
    for (int k = 0; k < 2; k++) {
        sodium_free(seeds[k]);
        free(ex[k]);
    }
    mpc_circ_destroy(&c);
}
END_TEST

/* ---------------------------------------------------------------------------------------
 * The SDK against scripted daemons.  mpcd does not exist yet: these threads play three
 * daemons on ipc:// sockets in the test's directory (CURVE servers behind a ZAP handler that admits only the client's
 * key), speaking the cwire protocol.  They keep every share they receive so the test can
 * check what each daemon saw, and serve outputs as fresh random shares of the plaintext
 * result (mpc_eval on the inputs reconstructed from all daemons' shares). */

#define N_FAKE 3

typedef struct {
    void            *zctx;
    void            *router[N_FAKE];
    char             endpoint[N_FAKE][128];
    char             pub[N_FAKE][41], sec[N_FAKE][41];
    char             client_pub[41];            /* the only key the ZAP handler admits */
    volatile int     stop;
    pthread_t        thr, zap_thr;
    /* the job, as each daemon saw it */
    int              have_job[N_FAKE];
    uint8_t          job[16];
    mpc_circuit     *circ;
    uint32_t         n_bind;
    char             bind[MPC_MAX_PARTIES][MPC_NAME_MAX];
    int              bad_hash[N_FAKE];          /* report a wrong circuit hash */
    int              deny_output[N_FAKE];       /* refuse RESULT with DENIED */
    int              n_cancel[N_FAKE];          /* CANCEL requests received */
    uint64_t        *share[N_FAKE][8];          /* per input: this daemon's share */
    uint8_t          mode[N_FAKE][8];
    int              n_input_msgs[N_FAKE];
    uint64_t        *out_share[N_FAKE][8];      /* per output: the share served */
    int              outputs_ready;
    /* a ready RESULT is answered only once every bound daemon holds one (a client asking
     * one daemon at a time never gets an output) */
    int              gate_results;
    int              gated[N_FAKE];
    zmq_msg_t        gated_id[N_FAKE];
    mpc_cwire_rep    gated_rep[N_FAKE];
    int              gated_o[N_FAKE];
    /* INPUT replies held until this daemon has every input of the job (a client waiting for
     * each input's replies before sending the next never gets there) */
    int              gate_inputs;
    int              n_held_in[N_FAKE];
    zmq_msg_t        held_in_id[N_FAKE][8];
    mpc_cwire_rep    held_in_rep[N_FAKE][8];
} fake;

static void s_zap_reply(void *sock, const char *rid, size_t rid_len, const char *code)
{
    zmq_send(sock, "1.0", 3, ZMQ_SNDMORE);
    zmq_send(sock, rid, rid_len, ZMQ_SNDMORE);
    zmq_send(sock, code, 3, ZMQ_SNDMORE);
    zmq_send(sock, "", 0, ZMQ_SNDMORE);
    zmq_send(sock, "client", 6, ZMQ_SNDMORE);
    zmq_send(sock, "", 0, 0);
}

static void *s_zap_main(void *arg)
{
    fake *f = arg;
    void *sock = zmq_socket(f->zctx, ZMQ_REP);
    zmq_bind(sock, "inproc://zeromq.zap.01");
    int to = 50;
    zmq_setsockopt(sock, ZMQ_RCVTIMEO, &to, sizeof to);
    uint8_t want[32];
    zmq_z85_decode(want, f->client_pub);
    while (!f->stop) {
        char frames[8][256];
        size_t lens[8];
        int n = 0, more = 1;
        while (more && n < 8) {
            int got = zmq_recv(sock, frames[n], sizeof frames[n], 0);
            if (got < 0) break;
            lens[n++] = (size_t)got;
            size_t ml = sizeof more;
            zmq_getsockopt(sock, ZMQ_RCVMORE, &more, &ml);
        }
        if (n == 0) continue;
        int ok = n >= 7 && lens[6] == 32 && memcmp(frames[6], want, 32) == 0;
        s_zap_reply(sock, frames[1], lens[1], ok ? "200" : "400");
    }
    zmq_close(sock);
    return NULL;
}

static int s_input_index(const mpc_circuit *c, const char *name)
{
    for (uint32_t i = 0; i < c->n_inputs; i++)
        if (!strcmp(c->inputs[i].name, name)) return (int)i;
    return -1;
}

static int s_output_index(const mpc_circuit *c, const char *name)
{
    for (uint32_t i = 0; i < c->n_outputs; i++)
        if (!strcmp(c->outputs[i].name, name)) return (int)i;
    return -1;
}

static int s_bound(const fake *f, uint32_t d)
{
    char name[16];
    snprintf(name, sizeof name, "d%u", d);
    for (uint32_t i = 0; i < f->n_bind; i++)
        if (!strcmp(f->bind[i], name)) return 1;
    return 0;
}

/* Once every input has a share on every bound daemon: evaluate and re-share the outputs. */
static void s_make_outputs(fake *f)
{
    if (f->outputs_ready || !f->circ) return;
    const mpc_circuit *c = f->circ;
    uint64_t *inputs[8] = {0};
    for (uint32_t i = 0; i < c->n_inputs; i++) {
        inputs[i] = calloc(c->inputs[i].len, 8);
        for (uint32_t d = 0; d < N_FAKE; d++) {
            if (!s_bound(f, d)) continue;
            if (!f->share[d][i]) goto out;
            mpc_cwire_add(inputs[i], f->share[d][i], c->inputs[i].len);
        }
    }
    mpc_eval_result res;
    char err[200];
    ck_assert_int_eq(mpc_eval(c, (const uint64_t *const *)inputs, &res, err, sizeof err), 0);
    for (uint32_t o = 0; o < c->n_outputs; o++) {
        uint64_t len = c->outputs[o].len;
        uint64_t *rest = malloc(len * 8);
        memcpy(rest, res.outputs[o], len * 8);
        int last = -1;
        for (uint32_t d = 0; d < N_FAKE; d++) if (s_bound(f, d)) last = (int)d;
        for (uint32_t d = 0; d < N_FAKE; d++) {
            if (!s_bound(f, d)) continue;
            f->out_share[d][o] = malloc(len * 8);
            if ((int)d == last) {
                memcpy(f->out_share[d][o], rest, len * 8);
            } else {
                randombytes_buf(f->out_share[d][o], len * 8);
                for (uint64_t k = 0; k < len; k++) rest[k] -= f->out_share[d][o][k];
            }
        }
        free(rest);
    }
    mpc_eval_result_free(&res);
    f->outputs_ready = 1;
out:
    for (uint32_t i = 0; i < c->n_inputs; i++) free(inputs[i]);
}

static void s_fake_reply(void *sock, zmq_msg_t *id, const mpc_cwire_rep *rep, const void *payload, size_t plen)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    ck_assert_int_eq(mpc_cwire_rep_encode(rep, &buf, &len), 0);
    zmq_send(sock, zmq_msg_data(id), zmq_msg_size(id), ZMQ_SNDMORE);
    zmq_send(sock, buf, len, payload ? ZMQ_SNDMORE : 0);
    if (payload) zmq_send(sock, payload, plen, 0);
    free(buf);
}

static void s_fake_error(void *sock, zmq_msg_t *id, uint64_t rid, int code, const char *msg)
{
    mpc_cwire_rep rep;
    memset(&rep, 0, sizeof rep);
    rep.type = MPC_CW_ERROR;
    rep.rid = rid;
    rep.code = code;
    snprintf(rep.msg, sizeof rep.msg, "%s", msg);
    s_fake_reply(sock, id, &rep, NULL, 0);
}

/* gate_results: holds daemon d's ready reply; when every bound daemon holds one, sends all. */
static void s_fake_gate(fake *f, uint32_t d, zmq_msg_t *id, const mpc_cwire_rep *rep, int o)
{
    if (f->gated[d]) zmq_msg_close(&f->gated_id[d]);   /* a newer ask replaces the older */
    zmq_msg_init(&f->gated_id[d]);
    zmq_msg_copy(&f->gated_id[d], id);
    f->gated_rep[d] = *rep;
    f->gated_o[d] = o;
    f->gated[d] = 1;
    for (uint32_t k = 0; k < N_FAKE; k++)
        if (s_bound(f, k) && !f->gated[k]) return;
    for (uint32_t k = 0; k < N_FAKE; k++) {
        if (!f->gated[k]) continue;
        s_fake_reply(f->router[k], &f->gated_id[k], &f->gated_rep[k], f->out_share[k][f->gated_o[k]],
                     f->gated_rep[k].count * 8);
        zmq_msg_close(&f->gated_id[k]);
        f->gated[k] = 0;
    }
}

/* gate_inputs: holds daemon d's INPUT reply; once d has every input of the job, sends them
 * all, in order. */
static void s_fake_hold_input(fake *f, uint32_t d, zmq_msg_t *id, const mpc_cwire_rep *rep)
{
    int h = f->n_held_in[d]++;
    ck_assert_int_lt(h, 8);
    zmq_msg_init(&f->held_in_id[d][h]);
    zmq_msg_copy(&f->held_in_id[d][h], id);
    f->held_in_rep[d][h] = *rep;
    if ((uint32_t)f->n_input_msgs[d] < f->circ->n_inputs) return;
    for (int k = 0; k < f->n_held_in[d]; k++) {
        s_fake_reply(f->router[d], &f->held_in_id[d][k], &f->held_in_rep[d][k], NULL, 0);
        zmq_msg_close(&f->held_in_id[d][k]);
    }
    f->n_held_in[d] = 0;
}

static void s_fake_serve(fake *f, uint32_t d)
{
    void *sock = f->router[d];
    zmq_msg_t id, hdr, pl;
    zmq_msg_init(&id);
    zmq_msg_init(&hdr);
    zmq_msg_init(&pl);
    if (zmq_msg_recv(&id, sock, ZMQ_DONTWAIT) < 0) goto out;
    zmq_msg_recv(&hdr, sock, 0);
    size_t n_pl = 0;
    if (zmq_msg_more(&hdr)) {
        zmq_msg_recv(&pl, sock, 0);
        n_pl = 1;
    }
    mpc_cwire_req q;
    char err[200];
    ck_assert_int_eq(mpc_cwire_req_decode(zmq_msg_data(&hdr), zmq_msg_size(&hdr), n_pl, zmq_msg_size(&pl), &q, err,
                                          sizeof err), 0);
    mpc_cwire_rep rep;
    memset(&rep, 0, sizeof rep);
    rep.rid = q.rid;
    rep.type = q.type | 0x80;
    if (q.type == MPC_CW_SUBMIT) {
        mpc_circuit *c = NULL;
        ck_assert_int_eq(mpc_circ_read(q.circ, q.circ_len, NULL, &c, err, sizeof err), 0);
        ck_assert_int_eq(mpc_circ_hash(c, rep.hash), 0);
        if (f->bad_hash[d]) rep.hash[0] ^= 1;
        if (!f->circ) {
            f->circ = c;
            memcpy(f->job, q.job, 16);
            f->n_bind = q.n_bind;
            memcpy(f->bind, q.bind, sizeof f->bind);
        } else {
            mpc_circ_destroy(&c);
        }
        f->have_job[d] = 1;
        s_fake_reply(sock, &id, &rep, NULL, 0);
    } else if (q.type == MPC_CW_INPUT) {
        int i = s_input_index(f->circ, q.name);
        ck_assert_int_ge(i, 0);
        ck_assert_int_eq(memcmp(q.job, f->job, 16), 0);
        f->n_input_msgs[d]++;
        f->mode[d][i] = q.mode;
        f->share[d][i] = malloc(q.count * 8);
        if (q.mode == MPC_CW_SEED) ck_assert_int_eq(mpc_cwire_seed_expand(f->share[d][i], q.count, zmq_msg_data(&pl), (uint32_t)i), 0);
        else memcpy(f->share[d][i], zmq_msg_data(&pl), q.count * 8);
        if (f->gate_inputs) s_fake_hold_input(f, d, &id, &rep);
        else s_fake_reply(sock, &id, &rep, NULL, 0);
    } else if (q.type == MPC_CW_RESULT) {
        if (f->deny_output[d]) {
            char msg[200];
            snprintf(msg, sizeof msg, "client may not read output '%s'", q.name);
            s_fake_error(sock, &id, q.rid, MPC_ERR_DENIED, msg);
            goto out;
        }
        s_make_outputs(f);
        int o = s_output_index(f->circ, q.name);
        if (o < 0) {
            s_fake_error(sock, &id, q.rid, MPC_ERR_NOTFOUND, "no such output");
        } else if (!f->outputs_ready) {
            struct timespec ts = {0, 20 * 1000000};
            nanosleep(&ts, NULL);
            rep.state = MPC_JOB_INPUTS;
            s_fake_reply(sock, &id, &rep, NULL, 0);
        } else {
            rep.ready = 1;
            rep.state = MPC_JOB_DONE;
            rep.vtype = f->circ->outputs[o].type;
            rep.count = f->circ->outputs[o].len;
            if (f->gate_results) s_fake_gate(f, d, &id, &rep, o);
            else s_fake_reply(sock, &id, &rep, f->out_share[d][o], rep.count * 8);
        }
    } else if (q.type == MPC_CW_STATUS) {
        snprintf(rep.daemon, sizeof rep.daemon, "d%u", d);
        rep.info.jobs_done = 7;
        rep.info.triples_stock = 1000 + d;
        if (q.has_job && f->have_job[d] && !memcmp(q.job, f->job, 16)) {
            rep.has_job = 1;
            rep.job.state = f->outputs_ready ? MPC_JOB_DONE : MPC_JOB_INPUTS;
            ck_assert_int_eq(mpc_circ_hash(f->circ, rep.job.hash), 0);
            rep.job.n_bind = f->n_bind;
            memcpy(rep.job.bind, f->bind, sizeof rep.job.bind);
            rep.job.inputs_total = f->circ->n_inputs;
        } else if (q.has_job) {
            s_fake_error(sock, &id, q.rid, MPC_ERR_NOTFOUND, "unknown job");
            goto out;
        }
        s_fake_reply(sock, &id, &rep, NULL, 0);
    } else if (q.type == MPC_CW_CANCEL) {
        f->n_cancel[d]++;
        if (f->have_job[d] && !memcmp(q.job, f->job, 16)) s_fake_reply(sock, &id, &rep, NULL, 0);
        else s_fake_error(sock, &id, q.rid, MPC_ERR_NOTFOUND, "no such job");
    }
out:
    zmq_msg_close(&id);
    zmq_msg_close(&hdr);
    zmq_msg_close(&pl);
}

static void *s_fake_main(void *arg)
{
    fake *f = arg;
    while (!f->stop) {
        zmq_pollitem_t items[N_FAKE];
        for (int d = 0; d < N_FAKE; d++) items[d] = (zmq_pollitem_t){f->router[d], 0, ZMQ_POLLIN, 0};
        if (zmq_poll(items, N_FAKE, 50) <= 0) continue;
        for (uint32_t d = 0; d < N_FAKE; d++)
            if (items[d].revents & ZMQ_POLLIN) s_fake_serve(f, d);
    }
    return NULL;
}

/* Starts the daemons (the last `n_down` are configured but not listening) and writes a
 * client configuration for them into s_dir/net.ini; `key` picks the client's key pair (0:
 * the admitted one, 1: a stranger). */
static fake *s_fake_start(int key, int n_down, int timeout_ms)
{
    fake *f = calloc(1, sizeof *f);
    f->zctx = zmq_ctx_new();
    char cpub[2][41], csec[2][41];
    for (int i = 0; i < 2; i++) ck_assert_int_eq(zmq_curve_keypair(cpub[i], csec[i]), 0);
    strcpy(f->client_pub, cpub[0]);
    ck_assert_int_eq(pthread_create(&f->zap_thr, NULL, s_zap_main, f), 0);
    struct timespec ts = {0, 20 * 1000000};
    nanosleep(&ts, NULL);   /* the ZAP handler binds before any CURVE server */
    char text[4096];
    int off = snprintf(text, sizeof text, "[client]\nname = tester\npublic_key_file = net.pub\nsecret_key_file = net.secret\n"
                       "timeout_ms = %d\n", timeout_ms);
    for (int d = 0; d < N_FAKE; d++) {
        ck_assert_int_eq(zmq_curve_keypair(f->pub[d], f->sec[d]), 0);
        f->router[d] = zmq_socket(f->zctx, ZMQ_ROUTER);
        int one = 1, zero = 0;
        zmq_setsockopt(f->router[d], ZMQ_CURVE_SERVER, &one, sizeof one);
        zmq_setsockopt(f->router[d], ZMQ_CURVE_SECRETKEY, f->sec[d], 41);
        zmq_setsockopt(f->router[d], ZMQ_LINGER, &zero, sizeof zero);
        /* ipc:// in the test's own directory: an endpoint no other process can take, even
         * while it is closed and the client keeps reconnecting to it */
        char path[sizeof s_dir + 16];
        ck_assert_int_lt(snprintf(path, sizeof path, "%s/d%d.sock", s_dir, d), (int)sizeof path);
        ck_assert_int_lt(snprintf(f->endpoint[d], sizeof f->endpoint[d], "ipc://%s", path),
                         (int)sizeof f->endpoint[d]);
        ck_assert_int_eq(zmq_bind(f->router[d], f->endpoint[d]), 0);
        if (d >= N_FAKE - n_down) {
            zmq_close(f->router[d]);   /* closed: nobody answers there */
            f->router[d] = NULL;
            unlink(path);
        }
        off += snprintf(text + off, sizeof text - (size_t)off, "[daemon d%d]\nendpoint = %s\npublic_key = %s\n", d,
                        f->endpoint[d], f->pub[d]);
    }
    s_write("net.ini", text, 0644);
    snprintf(text, sizeof text, "%s\n", cpub[key]);
    s_write("net.pub", text, 0644);
    snprintf(text, sizeof text, "%s\n", csec[key]);
    s_write("net.secret", text, 0600);
    if (n_down) {
        /* a stand-in socket keeps the poll loop uniform */
        for (int d = N_FAKE - n_down; d < N_FAKE; d++) {
            f->router[d] = zmq_socket(f->zctx, ZMQ_ROUTER);
            zmq_bind(f->router[d], "inproc://unused");
        }
    }
    ck_assert_int_eq(pthread_create(&f->thr, NULL, s_fake_main, f), 0);
    return f;
}

/* Forgets the job (call only while no client is talking to the daemons). */
static void s_fake_reset(fake *f)
{
    for (int d = 0; d < N_FAKE; d++) {
        for (int i = 0; i < 8; i++) {
            free(f->share[d][i]);
            free(f->out_share[d][i]);
            f->share[d][i] = f->out_share[d][i] = NULL;
        }
        f->have_job[d] = 0;
        f->n_input_msgs[d] = 0;
    }
    mpc_circ_destroy(&f->circ);
    f->outputs_ready = 0;
    for (int d = 0; d < N_FAKE; d++) {
        if (f->gated[d]) {
            zmq_msg_close(&f->gated_id[d]);
            f->gated[d] = 0;
        }
        for (int k = 0; k < f->n_held_in[d]; k++) zmq_msg_close(&f->held_in_id[d][k]);
        f->n_held_in[d] = 0;
    }
}

static void s_fake_stop(fake *f)
{
    f->stop = 1;
    pthread_join(f->thr, NULL);
    pthread_join(f->zap_thr, NULL);
    for (int d = 0; d < N_FAKE; d++)
        if (f->router[d]) zmq_close(f->router[d]);
    s_fake_reset(f);
    zmq_ctx_term(f->zctx);
    free(f);
}

static mpc_client *s_open_net(void)
{
    char path[512], err[512];
    snprintf(path, sizeof path, "%s/net.ini", s_dir);
    mpc_client *c = NULL;
    int r = mpc_client_open(&c, path, err, sizeof err);
    ck_assert_msg(r == 0, "open: %s", err);
    return c;
}

/* A two-party program: x (party a, int[3]), f (party b, fix), y (party b, int[3]);
 * outputs prod = x*y, total = sum(x), twice = f+f.  Returns .circ bytes. */
static uint8_t *s_program(size_t *len, int variant)
{
    mpc_circuit *c = mpc_circ_new();
    ck_assert_int_eq(mpc_circ_add_party(c, "a"), 0);
    ck_assert_int_eq(mpc_circ_add_party(c, "b"), 1);
    uint32_t x = mpc_circ_add_input(c, "x", 0, MPC_T_INT, 3, 1, 1);
    uint32_t f = mpc_circ_add_input(c, "f", 1, MPC_T_FIX, 1, 2, 1);
    uint32_t y = mpc_circ_add_input(c, "y", 1, MPC_T_INT, 3, 3, 1);
    uint32_t p = mpc_circ_add_gate(c, variant ? MPC_G_ADD : MPC_G_MUL, MPC_T_INT, 3, x, y, MPC_NO_WIRE, 0, 0, 4, 1);
    uint32_t t = mpc_circ_add_gate(c, MPC_G_SUM, MPC_T_INT, 1, x, MPC_NO_WIRE, MPC_NO_WIRE, 0, 0, 5, 1);
    uint32_t w = mpc_circ_add_gate(c, MPC_G_ADD, MPC_T_FIX, 1, f, f, MPC_NO_WIRE, 0, 0, 6, 1);
    ck_assert_int_ge(mpc_circ_add_output(c, "prod", p, 3, 4, 1), 0);
    ck_assert_int_ge(mpc_circ_add_output(c, "total", t, 1, 5, 1), 0);
    ck_assert_int_ge(mpc_circ_add_output(c, "twice", w, 2, 6, 1), 0);
    char err[256];
    ck_assert_msg(mpc_circ_finish(c, err, sizeof err) == 0, "%s", err);
    uint8_t *buf = NULL;
    ck_assert_int_eq(mpc_circ_write(c, &buf, len), 0);
    mpc_circ_destroy(&c);
    return buf;
}

/* The whole flow with an explicit binding a=d2, b=d0 (d1 only takes part in ordering). */
START_TEST(test_sdk_flow_against_scripted_daemons)
{
    fake *f = s_fake_start(0, 0, 5000);
    mpc_client *c = s_open_net();
    ck_assert_uint_eq(mpc_client_n_daemons(c), 3);
    size_t len;
    uint8_t *circ = s_program(&len, 0);
    mpc_job *j = NULL;
    int r = mpc_job_create(c, circ, len, &j);
    ck_assert_msg(r == 0, "create: %s", mpc_client_errmsg(c));
    ck_assert_int_eq(mpc_job_set_binding(c, j, "b=d0, a=d2"), 0);
    ck_assert_str_eq(mpc_job_id(j), "");
    ck_assert_int_eq(mpc_job_is_live(j), 0);

    const uint64_t x[3] = {5, (uint64_t)-7, 1ull << 40};
    r = mpc_job_input(c, j, "x", x, 3);
    ck_assert_msg(r == 0, "input: %s", mpc_client_errmsg(c));
    ck_assert_int_eq(mpc_job_input_text(c, j, "y", "3, 4,-2"), 0);
    /* wrong length: refused here */
    ck_assert_int_eq(mpc_job_input(c, j, "y", x, 2), MPC_ERR_INPUT);
    ck_assert_ptr_nonnull(strstr(mpc_client_errmsg(c), "'y' takes 3 values, 2 given"));
    ck_assert_int_eq(mpc_job_input(c, j, "nope", x, 1), MPC_ERR_NOTFOUND);
    ck_assert_int_eq(mpc_job_input_text(c, j, "f", "1.25"), 0);
    ck_assert_int_eq(mpc_job_input_staged(j, 0), 1);
    /* staged only: no daemon has heard of the job */
    for (int d = 0; d < N_FAKE; d++) ck_assert_int_eq(f->have_job[d], 0);

    r = mpc_job_submit(c, j, MPC_SUBMIT_ALL_INPUTS);
    ck_assert_msg(r == 0, "submit: %s", mpc_client_errmsg(c));
    ck_assert_int_eq(mpc_job_is_live(j), 1);
    ck_assert_int_eq(mpc_job_input_staged(j, 0), 0);
    ck_assert_uint_eq(strlen(mpc_job_id(j)), 32);
    ck_assert_uint_eq(strlen(mpc_job_hash(j)), 64);
    ck_assert_str_eq(mpc_job_party_daemon(j, 0), "d2");
    ck_assert_str_eq(mpc_job_party_daemon(j, 1), "d0");
    /* every daemon got the job, with the binding in program-party order */
    for (int d = 0; d < N_FAKE; d++) ck_assert_int_eq(f->have_job[d], 1);
    ck_assert_uint_eq(f->n_bind, 2);
    ck_assert_str_eq(f->bind[0], "d2");
    ck_assert_str_eq(f->bind[1], "d0");
    ck_assert_uint_eq(mpc_job_n_inputs(j), 3);
    ck_assert_str_eq(mpc_job_input_party(j, 1), "b");
    ck_assert_str_eq(mpc_job_input_type(j, 1), "fix");
    ck_assert_uint_eq(mpc_job_output_len(j, 0), 3);
    /* a live job's binding is fixed; a second submit is refused */
    ck_assert_int_eq(mpc_job_set_binding(c, j, NULL), MPC_ERR_STATE);
    ck_assert_int_eq(mpc_job_submit(c, j, 0), MPC_ERR_STATE);

    /* the bound daemons hold shares: first in binding order (d2) a seed, last (d0) the
     * explicit share; the unbound d1 saw no input */
    ck_assert_int_eq(f->n_input_msgs[1], 0);
    ck_assert_int_eq(f->n_input_msgs[0], 3);
    ck_assert_int_eq(f->n_input_msgs[2], 3);
    for (int i = 0; i < 3; i++) {
        ck_assert_uint_eq(f->mode[2][i], MPC_CW_SEED);
        ck_assert_uint_eq(f->mode[0][i], MPC_CW_EXPLICIT);
    }
    /* neither share alone is the value; together they are */
    ck_assert(memcmp(f->share[0][0], x, sizeof x) != 0);
    ck_assert(memcmp(f->share[2][0], x, sizeof x) != 0);
    for (int k = 0; k < 3; k++) ck_assert_uint_eq(f->share[0][0][k] + f->share[2][0][k], x[k]);

    uint64_t *v = NULL, n = 0;
    r = mpc_job_output(c, j, "prod", 5000, &v, &n);
    ck_assert_msg(r == 0, "output: %s", mpc_client_errmsg(c));
    ck_assert_uint_eq(n, 3);
    ck_assert_uint_eq(v[0], 15);
    ck_assert_uint_eq(v[1], (uint64_t)-28);
    ck_assert_uint_eq(v[2], (uint64_t)-(int64_t)(2ull << 40));
    mpc_client_free(v);
    char *text = NULL;
    ck_assert_int_eq(mpc_job_output_text(c, j, "prod", 5000, &text), 0);
    ck_assert_str_eq(text, "15, -28, -2199023255552");
    mpc_client_free(text);
    ck_assert_int_eq(mpc_job_output_text(c, j, "twice", 5000, &text), 0);
    ck_assert_str_eq(text, "2.5");
    mpc_client_free(text);

    /* status: every daemon reachable, knows the job */
    mpc_daemon_status st[3];
    ck_assert_int_eq(mpc_client_status(c, mpc_job_id(j), st, 3), 0);
    for (int d = 0; d < 3; d++) {
        ck_assert_int_eq(st[d].reachable, 1);
        ck_assert_int_eq(st[d].error, 0);
        ck_assert_int_eq(st[d].has_job, 1);
        ck_assert_str_eq(st[d].state_name, "done");
        ck_assert_uint_eq(st[d].triples_stock, 1000 + (uint64_t)d);
    }
    ck_assert_int_eq(mpc_client_status(c, mpc_job_id(j), st, 2), MPC_ERR_INVALID);

    /* another client process attaches by job id: same circuit accepted, binding learnt;
     * a different circuit refused */
    mpc_job *j2 = NULL;
    ck_assert_int_eq(mpc_job_create(c, circ, len, &j2), 0);
    ck_assert_str_eq(mpc_job_party_daemon(j2, 0), "d0");   /* the default, until attached */
    r = mpc_job_attach(c, j2, mpc_job_id(j));
    ck_assert_msg(r == 0, "attach: %s", mpc_client_errmsg(c));
    ck_assert_str_eq(mpc_job_id(j2), mpc_job_id(j));
    ck_assert_str_eq(mpc_job_party_daemon(j2, 0), "d2");
    ck_assert_str_eq(mpc_job_party_daemon(j2, 1), "d0");
    mpc_job_free(&j2);
    /* a binding asked for here must be the job's */
    ck_assert_int_eq(mpc_job_create(c, circ, len, &j2), 0);
    ck_assert_int_eq(mpc_job_set_binding(c, j2, "a=d0,b=d2"), 0);
    ck_assert_int_eq(mpc_job_attach(c, j2, mpc_job_id(j)), MPC_ERR_CIRCUIT);
    ck_assert_ptr_nonnull(strstr(mpc_client_errmsg(c), "binds party 'a' to daemon d2, not to d0"));
    ck_assert_int_eq(mpc_job_is_live(j2), 0);
    mpc_job_free(&j2);
    size_t len2;
    uint8_t *other = s_program(&len2, 1);
    ck_assert_int_eq(mpc_job_create(c, other, len2, &j2), 0);
    const uint64_t one[3] = {1, 1, 1};
    ck_assert_int_eq(mpc_job_input(c, j2, "x", one, 3), 0);
    int before = f->n_input_msgs[0];
    ck_assert_int_eq(mpc_job_attach(c, j2, mpc_job_id(j)), MPC_ERR_CIRCUIT);
    ck_assert_int_eq(f->n_input_msgs[0], before);   /* the staged input went nowhere */
    ck_assert_int_eq(mpc_job_input_staged(j2, 0), 1);
    ck_assert_ptr_nonnull(strstr(mpc_client_errmsg(c), mpc_job_id(j)));
    ck_assert_int_eq(mpc_job_attach(c, j2, "00000000000000000000000000000000"), MPC_ERR_NOTFOUND);
    ck_assert_int_eq(mpc_job_attach(c, j2, "xyz"), MPC_ERR_INVALID);
    mpc_job_free(&j2);
    free(other);

    /* an error reply keeps its code and names the daemon and the job */
    f->deny_output[0] = 1;
    ck_assert_int_eq(mpc_job_output(c, j, "total", 5000, &v, &n), MPC_ERR_DENIED);
    ck_assert_ptr_null(v);
    const char *m = mpc_client_errmsg(c);
    ck_assert_ptr_nonnull(strstr(m, "daemon d"));
    ck_assert_ptr_nonnull(strstr(m, mpc_job_id(j)));
    ck_assert_ptr_nonnull(strstr(m, "may not read output 'total'"));

    mpc_job_free(&j);
    free(circ);
    mpc_client_close(&c);
    ck_assert_ptr_null(c);
    s_fake_stop(f);
}
END_TEST

START_TEST(test_sdk_hash_mismatch_refused)
{
    fake *f = s_fake_start(0, 0, 5000);
    f->bad_hash[1] = 1;
    mpc_client *c = s_open_net();
    size_t len;
    uint8_t *circ = s_program(&len, 0);
    mpc_job *j = NULL;
    ck_assert_int_eq(mpc_job_create(c, circ, len, &j), 0);
    ck_assert_int_eq(mpc_job_submit(c, j, 0), MPC_ERR_PROTOCOL);
    ck_assert_ptr_nonnull(strstr(mpc_client_errmsg(c), "daemon d1"));
    ck_assert_ptr_nonnull(strstr(mpc_client_errmsg(c), "circuit hash"));
    ck_assert_int_eq(mpc_job_is_live(j), 0);   /* still staged */
    ck_assert_str_eq(mpc_job_id(j), "");
    /* the refused submission was withdrawn: every daemon holding it got a CANCEL */
    ck_assert_int_eq(f->n_cancel[0], 1);
    ck_assert_int_eq(f->n_cancel[1], 1);
    /* bad bindings are refused before anything is sent; the binding stays as it was */
    ck_assert_int_eq(mpc_job_set_binding(c, j, "a=d0"), MPC_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(mpc_client_errmsg(c), "party 'b' is not bound"));
    ck_assert_int_eq(mpc_job_set_binding(c, j, "a=d0,b=d0"), MPC_ERR_INVALID);
    ck_assert_int_eq(mpc_job_set_binding(c, j, "b=d2,a=zz"), MPC_ERR_INVALID);
    ck_assert_int_eq(mpc_job_set_binding(c, j, "a=d0,c=d1"), MPC_ERR_INVALID);
    ck_assert_str_eq(mpc_job_party_daemon(j, 1), "d1");
    mpc_job_free(&j);
    ck_assert_int_eq(mpc_job_create(c, (const uint8_t *)"junk", 4, &j), MPC_ERR_CIRCUIT);
    ck_assert_ptr_null(j);
    free(circ);
    mpc_client_close(&c);
    s_fake_stop(f);
}
END_TEST

/* A key the daemons do not admit, and a daemon that is down: clear errors, quickly. */
START_TEST(test_sdk_unknown_key_and_down_daemon)
{
    fake *f = s_fake_start(1, 0, 600);
    mpc_client *c = s_open_net();
    size_t len;
    uint8_t *circ = s_program(&len, 0);
    mpc_job *j = NULL;
    ck_assert_int_eq(mpc_job_create(c, circ, len, &j), 0);
    int r = mpc_job_submit(c, j, 0);
    ck_assert(r == MPC_ERR_IO || r == MPC_ERR_TIMEOUT);
    mpc_job_free(&j);
    ck_assert_msg(strstr(mpc_client_errmsg(c), "refused this client's key") != NULL, "%s", mpc_client_errmsg(c));
    for (int d = 0; d < N_FAKE; d++) ck_assert_int_eq(f->have_job[d], 0);
    mpc_client_close(&c);
    s_fake_stop(f);

    f = s_fake_start(0, 1, 600);
    c = s_open_net();
    mpc_daemon_status st[3];
    ck_assert_int_eq(mpc_client_status(c, NULL, st, 3), 0);
    ck_assert_int_eq(st[0].reachable, 1);
    ck_assert_int_eq(st[1].reachable, 1);
    ck_assert_int_eq(st[2].reachable, 0);
    ck_assert_str_eq(st[2].daemon, "d2");
    ck_assert_ptr_nonnull(strstr(st[2].message, "daemon d2"));
    ck_assert_int_eq(st[0].has_job, 0);
    free(circ);
    mpc_client_close(&c);
    s_fake_stop(f);
}
END_TEST

static int s_progress_calls;
static char s_progress_state[32];

static void s_on_progress(void *ctx, const mpc_job *job, const mpc_daemon_status *st, size_t n)
{
    (void)ctx;
    ck_assert_ptr_nonnull(job);
    ck_assert_uint_eq(n, 2);   /* the job's bound daemons */
    s_progress_calls++;
    snprintf(s_progress_state, sizeof s_progress_state, "%s", st[0].state_name);
}

/* The test program as a staged job with x = 5, 6, 7, y = 3, 4, -2 and f = 1.25 (so prod =
 * 15, 24, -14), bound as `binding` (NULL: the default); *circ gets the .circ bytes to free. */
static mpc_job *s_staged_567(mpc_client *c, const char *binding, uint8_t **circ)
{
    size_t len;
    *circ = s_program(&len, 0);
    mpc_job *j = NULL;
    ck_assert_int_eq(mpc_job_create(c, *circ, len, &j), 0);
    if (binding) ck_assert_int_eq(mpc_job_set_binding(c, j, binding), 0);
    const uint64_t x[3] = {5, 6, 7};
    ck_assert_int_eq(mpc_job_input(c, j, "x", x, 3), 0);
    ck_assert_int_eq(mpc_job_input_text(c, j, "y", "3, 4, -2"), 0);
    ck_assert_int_eq(mpc_job_input_text(c, j, "f", "1.25"), 0);
    return j;
}

/* Fetches output prod of such a job and checks it; the ms it took. */
static int64_t s_prod_567(mpc_client *c, mpc_job *j)
{
    uint64_t *v = NULL, n = 0;
    int64_t t0 = s_now();
    int r = mpc_job_output(c, j, "prod", 2000, &v, &n);
    int64_t took = s_now() - t0;
    ck_assert_msg(r == 0, "output: %s", mpc_client_errmsg(c));
    ck_assert_uint_eq(n, 3);
    ck_assert_uint_eq(v[0], 15);
    ck_assert_uint_eq(v[1], 24);
    ck_assert_uint_eq(v[2], (uint64_t)-14);
    mpc_client_free(v);
    return took;
}

/* An output is asked of every daemon holding a share at once: the scripted daemons answer
 * only when all of them hold a RESULT request, which a client asking one daemon after the
 * other (as the SDK did until 2026-12-03) never brings about. */
START_TEST(test_sdk_output_asks_every_daemon_at_once)
{
    fake *f = s_fake_start(0, 0, 3000);
    mpc_client *c = s_open_net();
    uint8_t *circ = NULL;
    mpc_job *j = s_staged_567(c, "b=d0, a=d2", &circ);
    ck_assert_int_eq(mpc_job_submit(c, j, MPC_SUBMIT_ALL_INPUTS), 0);
    f->gate_results = 1;
    int64_t took = s_prod_567(c, j);
    ck_assert_msg(took < 1000, "the output took %lld ms", (long long)took);
    mpc_job_free(&j);
    free(circ);
    mpc_client_close(&c);
    s_fake_stop(f);
}
END_TEST

/* A job's inputs are sent without waiting for each one's replies: the scripted daemons answer
 * INPUT only once they hold every input of the job, which a client waiting for each input's
 * replies before sending the next (as the SDK did until 2026-12-03) never brings about. */
START_TEST(test_sdk_inputs_sent_ahead_of_replies)
{
    fake *f = s_fake_start(0, 0, 2000);
    f->gate_inputs = 1;
    mpc_client *c = s_open_net();
    uint8_t *circ = NULL;
    mpc_job *j = s_staged_567(c, NULL, &circ);
    int64_t t0 = s_now();
    int r = mpc_job_submit(c, j, MPC_SUBMIT_ALL_INPUTS);
    int64_t took = s_now() - t0;
    ck_assert_msg(r == 0, "submit: %s", mpc_client_errmsg(c));
    ck_assert_msg(took < 1500, "the inputs took %lld ms", (long long)took);
    ck_assert_int_eq(f->n_input_msgs[0], 3);   /* the default binding: a=d0, b=d1 */
    ck_assert_int_eq(f->n_input_msgs[1], 3);
    ck_assert_int_eq(f->n_input_msgs[2], 0);
    (void)s_prod_567(c, j);
    mpc_job_free(&j);
    free(circ);
    mpc_client_close(&c);
    s_fake_stop(f);
}
END_TEST

/* An output that never becomes ready: the wait ends at the deadline with MPC_ERR_TIMEOUT and
 * the job's state, reporting progress on the way. */
START_TEST(test_sdk_output_timeout_and_progress)
{
    fake *f = s_fake_start(0, 0, 5000);
    mpc_client *c = s_open_net();
    size_t len;
    uint8_t *circ = s_program(&len, 0);
    mpc_job *j = NULL;
    ck_assert_int_eq(mpc_job_create(c, circ, len, &j), 0);
    const uint64_t x[3] = {1, 2, 3};
    ck_assert_int_eq(mpc_job_input(c, j, "x", x, 3), 0);   /* y and f never come */
    uint64_t *v = NULL, n = 0;
    ck_assert_int_eq(mpc_job_output(c, j, "total", 600, &v, &n), MPC_ERR_STATE);   /* not submitted */
    ck_assert_int_eq(mpc_job_submit(c, j, 0), 0);
    ck_assert_int_eq(f->n_input_msgs[0], 1);
    mpc_client_set_progress(c, s_on_progress, NULL, 100);
    int64_t t0 = s_now();
    ck_assert_int_eq(mpc_job_output(c, j, "total", 600, &v, &n), MPC_ERR_TIMEOUT);
    int64_t took = s_now() - t0;
    ck_assert_int_ge(took, 550);
    ck_assert_int_lt(took, 3000);
    ck_assert_ptr_null(v);
    ck_assert_msg(strstr(mpc_client_errmsg(c), "not ready after 600 ms (job waiting for inputs)") != NULL, "%s",
                  mpc_client_errmsg(c));
    ck_assert_int_ge(s_progress_calls, 2);
    ck_assert_str_eq(s_progress_state, "waiting for inputs");
    mpc_job_free(&j);
    free(circ);
    mpc_client_close(&c);
    s_fake_stop(f);
}
END_TEST

/* --- staging: everything checked locally, before any daemon hears of the job ------------ */

START_TEST(test_stage_refuses_bad_inputs_before_submit)
{
    fake *f = s_fake_start(0, 0, 5000);
    mpc_client *c = s_open_net();
    size_t len;
    uint8_t *circ = s_program(&len, 0);
    mpc_job *j = NULL;
    ck_assert_int_eq(mpc_job_create(c, circ, len, &j), 0);
    const uint64_t x[3] = {1, 2, 3};
    /* unknown name: named, with the inputs the program has */
    ck_assert_int_eq(mpc_job_input(c, j, "nope", x, 3), MPC_ERR_NOTFOUND);
    ck_assert_str_eq(mpc_client_errmsg(c), "the program has no input 'nope' (its inputs: x, f, y)");
    ck_assert_int_eq(mpc_job_input_text(c, j, "z", "1"), MPC_ERR_NOTFOUND);
    ck_assert_ptr_nonnull(strstr(mpc_client_errmsg(c), "no input 'z'"));
    /* wrong length, as values and as text */
    ck_assert_int_eq(mpc_job_input(c, j, "x", x, 2), MPC_ERR_INPUT);
    ck_assert_str_eq(mpc_client_errmsg(c), "input 'x' takes 3 values, 2 given");
    ck_assert_int_eq(mpc_job_input_text(c, j, "f", "1.5, 2"), MPC_ERR_INPUT);
    ck_assert_str_eq(mpc_client_errmsg(c), "input 'f' takes 1 value, 2 given");
    /* text that is not of the input's type */
    ck_assert_int_eq(mpc_job_input_text(c, j, "y", "1, zz, 3"), MPC_ERR_INPUT);
    ck_assert_msg(strncmp(mpc_client_errmsg(c), "input 'y' (int): ", 17) == 0, "%s", mpc_client_errmsg(c));
    ck_assert_int_eq(mpc_job_input_text(c, j, "y", "1.5, 2, 3"), MPC_ERR_INPUT);
    ck_assert_int_eq(mpc_job_input_text(c, j, "f", "abc"), MPC_ERR_INPUT);
    ck_assert_int_eq(mpc_job_input_text(c, j, "f", "1e30"), MPC_ERR_INPUT);   /* beyond the fix range */
    ck_assert_ptr_nonnull(strstr(mpc_client_errmsg(c), "input 'f' (fix)"));
    ck_assert_int_eq(mpc_job_input_text(c, j, "f", "@/nonexistent/f.csv"), MPC_ERR_INPUT);
    ck_assert_ptr_nonnull(strstr(mpc_client_errmsg(c), "/nonexistent/f.csv"));
    /* nothing bad was staged; a good input is, once */
    for (size_t i = 0; i < 3; i++) ck_assert_int_eq(mpc_job_input_staged(j, i), 0);
    ck_assert_int_eq(mpc_job_input(c, j, "x", x, 3), 0);
    ck_assert_int_eq(mpc_job_input(c, j, "x", x, 3), MPC_ERR_STATE);
    ck_assert_str_eq(mpc_client_errmsg(c), "input 'x' is already given");
    /* a submit that needs every input names the missing ones, and sends nothing */
    ck_assert_int_eq(mpc_job_submit(c, j, MPC_SUBMIT_ALL_INPUTS), MPC_ERR_INPUT);
    ck_assert_str_eq(mpc_client_errmsg(c), "inputs not given: 'f' (party b), 'y' (party b)");
    ck_assert_int_eq(mpc_job_input_text(c, j, "y", "@y.csv"), MPC_ERR_INPUT);   /* no such file yet */
    s_write("y.csv", "4\n5\n6\n", 0644);
    char spec[600];
    snprintf(spec, sizeof spec, "@%s/y.csv", s_dir);
    ck_assert_int_eq(mpc_job_input_text(c, j, "y", spec), 0);
    ck_assert_int_eq(mpc_job_submit(c, j, MPC_SUBMIT_ALL_INPUTS), MPC_ERR_INPUT);
    ck_assert_str_eq(mpc_client_errmsg(c), "input not given: 'f' (party b)");
    for (int d = 0; d < N_FAKE; d++) ck_assert_int_eq(f->have_job[d], 0);
    ck_assert_int_eq(mpc_job_is_live(j), 0);
    mpc_job_free(&j);
    free(circ);

    /* bool inputs take 0/1 only; the value itself never appears in the message */
    const char *src = "party a, b\ninput x: int from a\ninput ok: bool from b\noutput s = x + ok to a\n";
    ck_assert_int_eq(mpc_job_create_source(c, src, strlen(src), "b.mpc", NULL, 0, 0, &j), 0);
    const uint64_t bad[1] = {77}, good[1] = {1};
    ck_assert_int_eq(mpc_job_input(c, j, "ok", bad, 1), MPC_ERR_INPUT);
    ck_assert_str_eq(mpc_client_errmsg(c), "input 'ok' is bool: element 0 is neither 0 nor 1");
    ck_assert_int_eq(mpc_job_input(c, j, "ok", good, 1), 0);
    ck_assert_int_eq(mpc_job_input_text(c, j, "x", "-3"), 0);
    mpc_job_free(&j);
    mpc_client_close(&c);
    s_fake_stop(f);
}
END_TEST

/* Staged values live in guarded memory (sodium_malloc; wiped by sodium_free) until they are
 * shared: every input is staged before submit and none after it, and the shares add up. */
START_TEST(test_stage_values_released_at_submit)
{
    fake *f = s_fake_start(0, 0, 5000);
    mpc_client *c = s_open_net();
    size_t len;
    uint8_t *circ = s_program(&len, 0);
    mpc_job *j = NULL;
    ck_assert_int_eq(mpc_job_create(c, circ, len, &j), 0);
    const uint64_t x[3] = {0x1111111111111111ull, 0x2222222222222222ull, 0x3333333333333333ull};
    ck_assert_int_eq(mpc_job_input(c, j, "x", x, 3), 0);
    ck_assert_int_eq(mpc_job_input_text(c, j, "f", "7.25"), 0);
    mpc_job_free(&j);
    ck_assert_ptr_null(j);

    ck_assert_int_eq(mpc_job_create(c, circ, len, &j), 0);
    ck_assert_int_eq(mpc_job_input(c, j, "x", x, 3), 0);
    ck_assert_int_eq(mpc_job_input_text(c, j, "y", "1 2 3"), 0);
    ck_assert_int_eq(mpc_job_input_text(c, j, "f", "0.5"), 0);
    for (size_t i = 0; i < 3; i++) ck_assert_int_eq(mpc_job_input_staged(j, i), 1);
    ck_assert_msg(mpc_job_submit(c, j, MPC_SUBMIT_ALL_INPUTS) == 0, "%s", mpc_client_errmsg(c));
    for (size_t i = 0; i < 3; i++) ck_assert_int_eq(mpc_job_input_staged(j, i), 0);
    for (int d = 0; d < N_FAKE; d++) ck_assert_int_eq(f->have_job[d], 1);
    ck_assert_int_eq(f->n_input_msgs[0], 3);
    mpc_job_free(&j);
    uint64_t sum[3];
    for (int k = 0; k < 3; k++) sum[k] = f->share[0][0][k] + f->share[1][0][k];
    ck_assert_int_eq(memcmp(sum, x, sizeof x), 0);
    free(circ);
    mpc_client_close(&c);
    s_fake_stop(f);
}
END_TEST

/* Compiling in the SDK: errors refuse, warnings are kept on the client (also when strict
 * refuses the program), -D reaches the compiler, a .circ takes no -D. */
START_TEST(test_stage_compile_warnings_and_strict)
{
    fake *f = s_fake_start(0, 0, 5000);
    mpc_client *c = s_open_net();
    mpc_job *j = NULL;
    const char *src = "party a, b\ninput x: int from a\ninput q: int from b\noutput s = x * 2 to a\n";
    ck_assert_int_eq(mpc_job_create_source(c, src, strlen(src), "t.mpc", NULL, 0, 0, &j), 0);
    ck_assert_uint_eq(mpc_client_n_warnings(c), 1);
    ck_assert_msg(strncmp(mpc_client_warning(c, 0), "t.mpc:3:", 8) == 0 &&
                  strstr(mpc_client_warning(c, 0), ": warning: input 'q' is never used"), "%s", mpc_client_warning(c, 0));
    ck_assert_ptr_null(mpc_client_warning(c, 1));
    mpc_job_free(&j);
    ck_assert_int_eq(mpc_job_create_source(c, src, strlen(src), "t.mpc", NULL, 0, MPC_JOB_STRICT, &j), MPC_ERR_CIRCUIT);
    ck_assert_ptr_null(j);
    ck_assert_uint_eq(mpc_client_n_warnings(c), 1);
    ck_assert_ptr_nonnull(strstr(mpc_client_errmsg(c), "warning: input 'q' is never used"));
    ck_assert_ptr_nonnull(strstr(mpc_client_errmsg(c), "refused as strict"));
    /* a clean program: no warnings, strict or not */
    const char *clean = "party a, b\nparam N = 2\ninput x: int[N] from a\ninput y: int from b\noutput s = sum(x) + y to a\n";
    ck_assert_int_eq(mpc_job_create_source(c, clean, strlen(clean), "c.mpc", NULL, 0, MPC_JOB_STRICT, &j), 0);
    ck_assert_uint_eq(mpc_client_n_warnings(c), 0);
    ck_assert_uint_eq(mpc_job_input_len(j, 0), 2);
    mpc_job_free(&j);
    const char *defs[1] = {"N=5"};
    ck_assert_int_eq(mpc_job_create_source(c, clean, strlen(clean), "c.mpc", defs, 1, 0, &j), 0);
    ck_assert_uint_eq(mpc_job_input_len(j, 0), 5);
    mpc_job_free(&j);
    /* a compile error */
    const char *bad = "party a, b\ninput x: int from q\n";
    ck_assert_int_eq(mpc_job_create_source(c, bad, strlen(bad), "bad.mpc", NULL, 0, 0, &j), MPC_ERR_CIRCUIT);
    ck_assert_msg(strncmp(mpc_client_errmsg(c), "bad.mpc:2:", 10) == 0, "%s", mpc_client_errmsg(c));
    /* files: a source compiled, a .circ read as is and refusing -D */
    s_write("t.mpc", src, 0644);
    char path[600];
    snprintf(path, sizeof path, "%s/t.mpc", s_dir);
    ck_assert_int_eq(mpc_job_create_file(c, path, NULL, 0, 0, &j), 0);
    ck_assert_uint_eq(mpc_client_n_warnings(c), 1);
    ck_assert_ptr_nonnull(strstr(mpc_client_warning(c, 0), "/t.mpc:3:"));
    char hash[65];
    snprintf(hash, sizeof hash, "%s", mpc_job_hash(j));
    mpc_job_free(&j);
    size_t len;
    uint8_t *circ = NULL;
    char err[300];
    ck_assert_int_eq(mpc_client_compile(src, strlen(src), "t.mpc", NULL, 0, &circ, &len, err, sizeof err), 0);
    snprintf(path, sizeof path, "%s/t.circ", s_dir);
    FILE *fp = fopen(path, "wb");
    ck_assert_ptr_nonnull(fp);
    ck_assert_uint_eq(fwrite(circ, 1, len, fp), len);
    fclose(fp);
    mpc_client_free(circ);
    ck_assert_int_eq(mpc_job_create_file(c, path, NULL, 0, 0, &j), 0);
    ck_assert_str_eq(mpc_job_hash(j), hash);
    ck_assert_uint_eq(mpc_client_n_warnings(c), 0);
    mpc_job_free(&j);
    ck_assert_int_eq(mpc_job_create_file(c, path, defs, 1, 0, &j), MPC_ERR_INVALID);
    /* a .circ whose compiler recorded an overflow warning: taken, but refused as strict */
    const char *ov = "party a, b\ninput x: fix from a\ninput y: fix from b\noutput m = x * y to a\n";
    ck_assert_int_eq(mpc_client_compile(ov, strlen(ov), "ov.mpc", NULL, 0, &circ, &len, err, sizeof err), 0);
    snprintf(path, sizeof path, "%s/ov.circ", s_dir);
    fp = fopen(path, "wb");
    ck_assert_ptr_nonnull(fp);
    ck_assert_uint_eq(fwrite(circ, 1, len, fp), len);
    fclose(fp);
    mpc_client_free(circ);
    ck_assert_int_eq(mpc_job_create_file(c, path, NULL, 0, 0, &j), 0);
    mpc_job_free(&j);
    ck_assert_int_eq(mpc_job_create_file(c, path, NULL, 0, MPC_JOB_STRICT, &j), MPC_ERR_CIRCUIT);
    ck_assert_ptr_null(j);
    ck_assert_msg(strstr(mpc_client_errmsg(c), "ov.circ: refused as strict: the compiler gave 1 overflow warning"),
                  "%s", mpc_client_errmsg(c));
    snprintf(path, sizeof path, "%s/none.mpc", s_dir);
    ck_assert_int_eq(mpc_job_create_file(c, path, NULL, 0, 0, &j), MPC_ERR_IO);
    ck_assert_ptr_nonnull(strstr(mpc_client_errmsg(c), "none.mpc: cannot open"));
    for (int d = 0; d < N_FAKE; d++) ck_assert_int_eq(f->have_job[d], 0);
    mpc_client_close(&c);
    s_fake_stop(f);
}
END_TEST

/* The mpc command against the scripted daemons: `mpc run` prints exactly what `mpcc --eval`
 * prints for the same program and inputs (the daemons here evaluate with the same oracle, so
 * this checks the CLI's pipeline and formatting); the multi-organization commands; errors. */
START_TEST(test_mpc_cli_against_scripted_daemons)
{
    fake *f = s_fake_start(0, 0, 5000);
    const char *bin = tp_bin();
    char mpc[600], mpcc[600];
    snprintf(mpc, sizeof mpc, "%s/mpc", bin);
    snprintf(mpcc, sizeof mpcc, "%s/mpcc", bin);
    ck_assert_msg(access(mpc, X_OK) == 0, "%s not built (set MPC_BIN)", mpc);
    ck_assert_msg(access(mpcc, X_OK) == 0, "%s not built (set MPC_BIN)", mpcc);
    s_write("prog.mpc", "party a, b\ninput x: int[3] from a\ninput y: fix from b in -10..10\n"
                        "output s = sum(x) to a, b\noutput t = y * y to b\noutput v = x * 2 to a\n", 0644);
    s_write("x.csv", "5\n-7\n11\n", 0644);
    char out[8192], ref[8192];
    /* stdout only: compiler warnings go to stderr, shown differently by mpcc (with the source line) */
    int rc = tp_sh(out, sizeof out, "cd '%s' && '%s' run prog.mpc --config net.ini --input x=@x.csv --input y=-1.5",
                   s_dir, mpc);
    ck_assert_msg(rc == 0, "mpc run: %s", out);
    rc = tp_sh(ref, sizeof ref, "cd '%s' && '%s' prog.mpc --eval --input x=@x.csv --input y=-1.5 2>/dev/null", s_dir, mpcc);
    ck_assert_msg(rc == 0, "mpcc: %s", ref);
    ck_assert_str_eq(out, ref);
    ck_assert_ptr_nonnull(strstr(out, "s = 9\n"));
    ck_assert_ptr_nonnull(strstr(out, "v = 10, -14, 22\n"));
    s_fake_reset(f);   /* the scripted daemons hold one job at a time */

    /* --json */
    rc = tp_sh(out, sizeof out, "cd '%s' && '%s' run prog.mpc --config net.ini --input x=1,2,3 --input y=2 --output t --json",
               s_dir, mpc);
    ck_assert_msg(rc == 0, "%s", out);
    ck_assert_ptr_nonnull(strstr(out, "\"outputs\": [{\"name\": \"t\", \"type\": \"fix\", \"values\": [4]}]"));
    s_fake_reset(f);

    /* submit, then input and result by job id from "other clients" */
    rc = tp_sh(out, sizeof out, "cd '%s' && '%s' submit prog.mpc --config net.ini", s_dir, mpc);
    ck_assert_msg(rc == 0, "%s", out);
    ck_assert_uint_eq(strlen(out), 33);
    char job[33];
    memcpy(job, out, 32);
    job[32] = 0;
    s_write("other.mpc", "party a, b\ninput x: int[3] from a\ninput y: fix from b\noutput s = sum(x) + int(y) to a, b\n", 0644);
    rc = tp_sh(out, sizeof out, "cd '%s' && '%s' input other.mpc --job %s --config net.ini --input x=1,2,3 2>&1", s_dir,
               mpc, job);
    ck_assert_int_eq(rc, 1);
    ck_assert_msg(strncmp(out, "mpc: error: daemon d", 20) == 0 && strstr(out, "different circuit"), "%s", out);
    ck_assert_ptr_eq(strchr(out, '\n'), out + strlen(out) - 1);   /* one line */
    rc = tp_sh(out, sizeof out, "cd '%s' && '%s' input prog.mpc --job %s --config net.ini --input x=1,2,3 "
                                "--input y=0.5 2>&1", s_dir, mpc, job);
    ck_assert_msg(rc == 0, "%s", out);
    rc = tp_sh(out, sizeof out, "cd '%s' && '%s' result prog.mpc --job %s --config net.ini --output s --output t",
               s_dir, mpc, job);
    ck_assert_msg(rc == 0, "%s", out);
    ck_assert_str_eq(out, "s = 6\nt = 0.25\n");

    /* status */
    rc = tp_sh(out, sizeof out, "cd '%s' && '%s' status --config net.ini --job %s", s_dir, mpc, job);
    ck_assert_msg(rc == 0, "%s", out);
    ck_assert_ptr_nonnull(strstr(out, "d0: reachable"));
    ck_assert_ptr_nonnull(strstr(out, "d2: reachable"));
    ck_assert_ptr_nonnull(strstr(out, ": done"));

    /* errors: one line, non-zero, and nothing submitted when an input does not fit */
    s_fake_reset(f);
    rc = tp_sh(out, sizeof out, "cd '%s' && '%s' run prog.mpc --config net.ini --input nope=1 2>&1", s_dir, mpc);
    ck_assert_int_eq(rc, 1);
    ck_assert_msg(strstr(out, "mpc: error: ") == out && strstr(out, "no input 'nope'"), "%s", out);
    rc = tp_sh(out, sizeof out, "cd '%s' && '%s' run prog.mpc --config net.ini --input x=1,2 --input y=1 2>&1", s_dir, mpc);
    ck_assert_int_eq(rc, 1);
    ck_assert_str_eq(out, "mpc: error: input 'x' takes 3 values, 2 given\n");
    rc = tp_sh(out, sizeof out, "cd '%s' && '%s' run prog.mpc --config net.ini --input x=1,2,3 --input y=1,5x 2>&1", s_dir, mpc);
    ck_assert_int_eq(rc, 1);
    ck_assert_msg(strncmp(out, "mpc: error: input 'y' (fix): ", 29) == 0, "%s", out);
    rc = tp_sh(out, sizeof out, "cd '%s' && '%s' run prog.mpc --config net.ini --input x=1,2,3 2>&1", s_dir, mpc);
    ck_assert_int_eq(rc, 1);
    ck_assert_str_eq(out, "mpc: error: input not given: 'y' (party b)\n");
    for (int d = 0; d < N_FAKE; d++) ck_assert_int_eq(f->have_job[d], 0);
    /* compiler warnings on stderr, `file:line:col: warning: …`; --strict refuses */
    s_write("warn.mpc", "party a, b\ninput x: int from a\ninput q: int from b\noutput s = x * 2 to a, b\n", 0644);
    rc = tp_sh(out, sizeof out, "cd '%s' && '%s' run warn.mpc --config net.ini --input x=4 --input q=0 --strict 2>&1",
               s_dir, mpc);
    ck_assert_int_eq(rc, 1);
    ck_assert_msg(strncmp(out, "warn.mpc:3:", 11) == 0 && strstr(out, ": warning: input 'q' is never used\n") &&
                  strstr(out, "\nmpc: error: warn.mpc:3:") && strstr(out, "refused as strict"), "%s", out);
    for (int d = 0; d < N_FAKE; d++) ck_assert_int_eq(f->have_job[d], 0);
    rc = tp_sh(out, sizeof out, "cd '%s' && '%s' run warn.mpc --config net.ini --input x=4 --input q=0 2>%s/warn.err",
               s_dir, mpc, s_dir);
    ck_assert_msg(rc == 0, "%s", out);
    ck_assert_str_eq(out, "s = 8\n");
    snprintf(ref, sizeof ref, "%s/warn.err", s_dir);
    FILE *wf = fopen(ref, "r");
    ck_assert_ptr_nonnull(wf);
    size_t wn = fread(ref, 1, sizeof ref - 1, wf);
    ref[wn] = 0;
    fclose(wf);
    ck_assert_msg(strncmp(ref, "warn.mpc:3:", 11) == 0 && strstr(ref, ": warning: input 'q' is never used\n"), "%s", ref);
    s_fake_reset(f);
    rc = tp_sh(out, sizeof out, "'%s' frobnicate 2>&1", mpc);
    ck_assert_int_eq(rc, 1);
    ck_assert_str_eq(out, "mpc: error: unknown command 'frobnicate' (see mpc --help)\n");
    for (int i = 0; i < 6; i++) {
        static const char *cmds[] = {"run", "submit", "input", "result", "status", "cancel"};
        rc = tp_sh(out, sizeof out, "'%s' %s --help", mpc, cmds[i]);
        ck_assert_int_eq(rc, 0);
        ck_assert_ptr_nonnull(strstr(out, "usage: mpc "));
    }
    s_fake_stop(f);
}
END_TEST

/* The installed public headers (mpcclient.h and the error list it includes, mpc_err.h) are
 * complete on their own: an application compiles against a directory holding only them, and
 * every code of the list is named by mpc_strerror. */
START_TEST(test_public_headers_stand_alone)
{
#define X(name, val, msg) ck_assert_str_eq(mpc_strerror(val), msg);
    MPC_ERR_LIST(X)
#undef X
    ck_assert_str_eq(mpc_strerror(MPC_ERR_DENIED), "permission denied");
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "mkdir -p '%s/inc' && cp client-sdk/mpcclient.h protocols/mpc_err.h '%s/inc/' && "
             "printf '#include <mpcclient.h>\nint main(void) { return mpc_strerror(MPC_ERR_CLOSED) == 0; }\n' "
             "> '%s/app.c' && ${CC:-cc} -std=c11 -Wall -Wextra -Werror -fsyntax-only -I'%s/inc' '%s/app.c'",
             s_dir, s_dir, s_dir, s_dir, s_dir);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

Suite *mpc_test_suite(void)
{
    Suite *s = suite_create("client");
    TCase *tc = tcase_create("config");
    tcase_add_checked_fixture(tc, s_setup, s_teardown);
    tcase_add_test(tc, test_conf_loads_in_party_order);
    tcase_add_test(tc, test_conf_errors_name_file_and_line);
    tcase_add_test(tc, test_key_files);
    tcase_add_test(tc, test_example_config_parses);
    suite_add_tcase(s, tc);
    TCase *ts = tcase_create("sharing");
    tcase_add_test(ts, test_seed_expand_convention);
    tcase_add_test(ts, test_sharing_reconstructs);
    tcase_add_test(ts, test_single_shares_independent_of_input);
    tcase_add_test(ts, test_engine_reconstructs_client_shares);
    suite_add_tcase(s, ts);
    TCase *tn = tcase_create("network");
    tcase_add_checked_fixture(tn, s_setup, s_teardown);
    tcase_add_test(tn, test_sdk_flow_against_scripted_daemons);
    tcase_add_test(tn, test_sdk_output_asks_every_daemon_at_once);
    tcase_add_test(tn, test_sdk_inputs_sent_ahead_of_replies);
    tcase_add_test(tn, test_sdk_hash_mismatch_refused);
    tcase_add_test(tn, test_sdk_unknown_key_and_down_daemon);
    tcase_add_test(tn, test_sdk_output_timeout_and_progress);
    tcase_add_test(tn, test_stage_refuses_bad_inputs_before_submit);
    tcase_add_test(tn, test_stage_values_released_at_submit);
    tcase_add_test(tn, test_stage_compile_warnings_and_strict);
    tcase_add_test(tn, test_mpc_cli_against_scripted_daemons);
    tcase_add_test(tn, test_public_headers_stand_alone);
    suite_add_tcase(s, tn);
    return s;
}

