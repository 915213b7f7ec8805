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

#include "mpc_err.h"

#include "circuit.h"
#include "client_conf.h"
#include "cwire.h"
#include "enginetest.h"

static char s_dir[256];
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
    s_expect_error(s_conf("", 2, "this is not ini"), 14, "syntax error");
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

/* Shares from the seeds plus the explicit share add up to the input, for every k. */
START_TEST(test_sharing_reconstructs)
{
    const uint64_t n = 1000;
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
    mpc_gate *g = realloc(c->gates, 32 * sizeof *g);   /* see s_program */
    ck_assert_ptr_nonnull(g);
    c->gates = g;
    c->cap_gates = 32;
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


int main(void)
{
    if (sodium_init() < 0) return EXIT_FAILURE;
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
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
